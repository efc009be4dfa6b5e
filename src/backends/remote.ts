/**
 * Backends that run a planned run's bins elsewhere (Slurm arrays, AWS Batch) leave a
 * record of their submission in the run folder. The shared commands `status`, `resume`
 * and `cancel` find the backend that holds the run by that record and hand it the run.
 *
 * Each backend is a folder that can be read alone (src/backends/<name>/); it exports one
 * RemoteBackend object and is listed once in REMOTE_BACKENDS (src/backends/remote-list.ts).
 */
import type { Storage } from "../storage/types.ts";
import type { BinStatus } from "../worker/markers.ts";

export interface RemoteStatusOptions {
  /** Machine-readable output: the backend's section goes under its name in the JSON. */
  readonly json: boolean;
  /** USD per vCPU-hour for a backend that prices its compute (AWS); undefined: its default, named as an assumption. */
  readonly vcpuHourPrice?: number;
}

export interface RemoteBackend {
  /** "slurm", "aws": the word after `submit` and the key of its section in `status --json`. */
  readonly name: string;
  /** True when this backend has a submission record in the run. */
  submitted(run: Storage): Promise<boolean>;
  /**
   * What `status` adds after the bins' counts: lines for people, and a JSON-able value
   * for `status --json`. Bins come already counted from the markers.
   */
  status(run: Storage, bins: BinStatus, opts: RemoteStatusOptions): Promise<{ lines: string[]; json: unknown }>;
  /** Submits again only what is missing; resolves to a one-line summary for the user. */
  resume(run: Storage, opts: Record<string, unknown>): Promise<string>;
  /** Stops the run's jobs (and, on AWS, purges its queued messages); a one-line summary. */
  cancel(run: Storage): Promise<string>;
}

/** The backend holding `run`, or undefined for a run that was never submitted (local). */
export async function remoteBackendOf(run: Storage, backends: readonly RemoteBackend[]): Promise<RemoteBackend | undefined> {
  for (const b of backends) if (await b.submitted(run)) return b;
  return undefined;
}
