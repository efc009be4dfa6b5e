/**
 * The AWS backend (AWS Batch array workers draining one SQS queue of bins; docs/aws.md):
 * the RemoteBackend that the shared `status`, `resume` and `cancel` hand an AWS run to,
 * found by its aws/submission.json.
 */
import type { RemoteBackend } from "../remote.ts";
import { cancelAws, formatCancel } from "./cancel.ts";
import { formatResume, resumeAws } from "./resume.ts";
import { awsStatus, formatAwsStatus } from "./status.ts";
import { SUBMISSION_KEY } from "./submission.ts";

export const awsBackend: RemoteBackend = {
  name: "aws",
  async submitted(run) {
    return (await run.size(SUBMISSION_KEY)) !== undefined;
  },
  async status(run, bins, opts) {
    const s = await awsStatus(run, bins, { vcpuHourPrice: opts.vcpuHourPrice });
    return { lines: formatAwsStatus(s, bins, run.uri), json: s };
  },
  async resume(run, opts) {
    const r = await resumeAws(run, {
      allMissing: opts.allMissing === true,
      workers: typeof opts.workers === "number" ? opts.workers : undefined,
    });
    return formatResume(r, run.uri);
  },
  async cancel(run) {
    return formatCancel(await cancelAws(run), run.uri);
  },
};

export { drain, formatDrainSummary, type DrainOptions, type DrainSummary } from "./drain.ts";
export { submitAws, startUploadedRun, formatStarted, DEFAULT_WORKERS } from "./submit.ts";
export { redriveAws, formatRedrive } from "./redrive.ts";
export { awsStatus, formatAwsStatus, DEFAULT_VCPU_HOUR_PRICE } from "./status.ts";
