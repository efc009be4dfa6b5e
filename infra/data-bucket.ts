/**
 * The one bucket for caches and runs (`caches/<name>/`, `runs/<name>/`): private, TLS only,
 * encrypted, versioned (a shard overwritten by mistake can be recovered), kept when the
 * stack is deleted.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import type { Construct } from "constructs";

/** Incomplete multipart uploads (a worker killed mid-upload) are aborted after this many days. */
export const ABORT_MULTIPART_DAYS = 7;

export function createDataBucket(
  scope: Construct,
  opts: { kmsKey: kms.IKey | undefined; noncurrentVersionExpirationDays: number },
): s3.Bucket {
  const lifecycleRules: s3.LifecycleRule[] = [
    { id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUploadAfter: Duration.days(ABORT_MULTIPART_DAYS) },
  ];
  if (opts.noncurrentVersionExpirationDays > 0) {
    // Versions replaced by a rerun (a stale shard rewritten) and delete markers left alone.
    lifecycleRules.push({
      id: "expire-noncurrent-versions",
      noncurrentVersionExpiration: Duration.days(opts.noncurrentVersionExpirationDays),
      expiredObjectDeleteMarker: true,
    });
  }
  return new s3.Bucket(scope, "Bucket", {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    ...(opts.kmsKey === undefined
      ? { encryption: s3.BucketEncryption.S3_MANAGED }
      : // A bucket key cuts KMS requests (and their cost) for many small reads to one per object batch.
        { encryption: s3.BucketEncryption.KMS, encryptionKey: opts.kmsKey, bucketKeyEnabled: true }),
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules,
  });
}
