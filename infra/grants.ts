/**
 * S3 grants by key prefix with named actions only. The bucket's own grantRead/grantWrite
 * give wildcard actions (`s3:GetObject*`, `s3:List*`, `s3:DeleteObject*`, `s3:Abort*`) and
 * `s3:List*` on the whole bucket; these give exactly what the tool calls, on its prefixes.
 *
 * `s3:ListBucket` is granted with an `s3:prefix` condition on the same prefixes: it lets
 * ListObjectsV2 list a run's markers, and it makes S3 answer 404 rather than 403 for a
 * missing key under those prefixes (HeadObject of a done marker that is not there yet).
 */
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";

/** Dotprops caches: `caches/<name>/...`. */
export const CACHES = "caches/*";
/** Run folders: `runs/<name>/...` (manifest.json, shards/, done/, failed/, aws/). */
export const RUNS = "runs/*";

export type KeyPattern = typeof CACHES | typeof RUNS;

/** GetObject (also HeadObject and ranged GETs) and ListBucket under each pattern. */
export function grantReadPrefixes(bucket: s3.Bucket, grantee: iam.IGrantable, patterns: readonly KeyPattern[]): void {
  for (const p of patterns) bucket.grants.actionsOnObjectKeys(grantee, p, "s3:GetObject", ...kmsActions(bucket, "read"));
  grantListPrefixes(bucket, grantee, patterns);
}

/**
 * PutObject (single and multipart uploads), AbortMultipartUpload (an upload given up) and,
 * when `remove`, DeleteObject (stale done markers, a failed marker once the bin succeeds).
 */
export function grantWritePrefixes(
  bucket: s3.Bucket,
  grantee: iam.IGrantable,
  patterns: readonly KeyPattern[],
  opts: { remove: boolean },
): void {
  const actions = ["s3:PutObject", "s3:AbortMultipartUpload", ...(opts.remove ? ["s3:DeleteObject"] : [])];
  for (const p of patterns) bucket.grants.actionsOnObjectKeys(grantee, p, ...actions, ...kmsActions(bucket, "write"));
}

function grantListPrefixes(bucket: s3.Bucket, grantee: iam.IGrantable, patterns: readonly KeyPattern[]): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ["s3:ListBucket"],
    resourceArns: [bucket.bucketArn],
    conditions: { StringLike: { "s3:prefix": [...patterns] } },
  });
}

/**
 * With SSE-KMS, reading needs kms:Decrypt; writing needs kms:GenerateDataKey, and
 * kms:Decrypt too for multipart uploads. The bucket's grants route `kms:` actions to its key.
 */
function kmsActions(bucket: s3.Bucket, what: "read" | "write"): string[] {
  if (bucket.encryptionKey === undefined) return [];
  return what === "read" ? ["kms:Decrypt"] : ["kms:GenerateDataKey", "kms:Decrypt"];
}
