/**
 * PLACEHOLDER (infra branch): the `aws` branch owns this file and replaces it with the real
 * handlers when the branches merge. It exists only so that `handlers/start.ts` and
 * `handlers/status.ts` bundle and `cdk synth` works; its exports are exactly the ones the
 * AWS contract fixes (/work/wt/AWS-CONTRACT.md, "Handlers").
 */
import type { S3Event } from "aws-lambda";

/** A `manifest.json` created under `runs/`: enqueue the run's bins and submit the array job. */
export async function startHandler(_event: S3Event): Promise<unknown> {
  throw new Error("startHandler: not implemented (placeholder of the infra branch)");
}

/** The status of one run as JSON, invoked directly or through the function URL. */
export async function statusHandler(
  _event: { run: string } | { queryStringParameters: { run: string } },
): Promise<unknown> {
  throw new Error("statusHandler: not implemented (placeholder of the infra branch)");
}
