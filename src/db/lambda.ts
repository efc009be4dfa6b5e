/**
 * PLACEHOLDER (infra branch): the Postgres branch (issue 11) owns this file and replaces it
 * with the real loader when the branches merge. It exists only so that `handlers/loader.ts`
 * bundles and `cdk synth` works with a database; its export is exactly the one the AWS
 * contract fixes (/work/wt/AWS-CONTRACT.md, "Handlers").
 */
import type { S3Event } from "aws-lambda";

/** A `done/K.json` created under `runs/`: load that bin into the database. */
export async function loaderHandler(_event: S3Event): Promise<unknown> {
  throw new Error("loaderHandler: not implemented (placeholder of the infra branch)");
}
