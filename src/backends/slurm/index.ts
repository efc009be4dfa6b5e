/**
 * The Slurm backend (sbatch arrays of `worker` on a shared file system; docs/slurm.md):
 * the RemoteBackend that the shared `status`, `resume` and `cancel` hand a Slurm run to,
 * found by its slurm/submission.json.
 */
import type { RemoteBackend } from "../remote.ts";
import { cancelSlurm } from "./cancel.ts";
import { SUBMISSION_KEY } from "./record.ts";
import { formatSlurmResume, resumeSlurm } from "./resume.ts";
import { formatSlurmStatus, slurmStatus } from "./status.ts";

export const slurmBackend: RemoteBackend = {
  name: "slurm",
  async submitted(run) {
    return (await run.size(SUBMISSION_KEY)) !== undefined;
  },
  async status(run, bins) {
    const s = await slurmStatus(run, bins);
    return { lines: formatSlurmStatus(s, bins, run.uri), json: s };
  },
  async resume(run, opts) {
    const str = (k: string): string | undefined => (typeof opts[k] === "string" ? (opts[k] as string) : undefined);
    const r = await resumeSlurm(run, {
      memPerCpu: str("memPerCpu"),
      mem: str("mem"),
      time: str("time"),
      cpusPerTask: typeof opts.cpusPerTask === "number" ? opts.cpusPerTask : undefined,
    });
    return formatSlurmResume(r, run.uri);
  },
  async cancel(run) {
    const jobs = await cancelSlurm(run);
    return jobs.length === 0 ? "nothing to cancel: no job of this run was submitted" : `scancel sent to jobs ${jobs.join(", ")}; \`resume\` sends the bins not done again`;
  },
};

export { submitSlurm, formatSubmitted, type SubmitSlurmOptions, type ThenJob } from "./submit.ts";
export { RUNTIMES, parseMemory, parseTime, type SlurmRequest, type Runtime } from "./request.ts";
