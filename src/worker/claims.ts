/**
 * Bin claims: several `run` or `worker` processes on one planned run share its bins. Before
 * computing bin K a process creates `claims/K.json` (only if absent: O_EXCL locally, a
 * conditional PUT on S3) naming its host, pid and start time, renews it while it works,
 * and removes it once the bin is done or failed. A bin claimed by a live process is left to
 * it; a claim whose process is gone (see lease-file.ts) is taken over. The done marker
 * stays the truth of what is done: a claim only keeps two processes off one bin at once.
 */
import { Lease, type LeaseAttempt } from "../storage/lease-file.ts";
import type { Storage } from "../storage/types.ts";

export function claimKey(bin: number): string {
  return `claims/${bin}.json`;
}

/** One attempt to claim the bin: a lease to release when done, or its live holder. */
export function claimBin(run: Storage, bin: number, what: string): Promise<LeaseAttempt> {
  return Lease.tryAcquire(run, claimKey(bin), `${what} (bin ${bin})`);
}
