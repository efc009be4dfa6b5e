/** Every remote backend, in the order `status`, `resume` and `cancel` look for their records. */
import { awsBackend } from "./aws/index.ts";
import { slurmBackend } from "./slurm/index.ts";
import type { RemoteBackend } from "./remote.ts";

export const REMOTE_BACKENDS: readonly RemoteBackend[] = [slurmBackend, awsBackend];
