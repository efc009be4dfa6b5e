/**
 * Who owns a lock, a claim, a temp file or a scratch folder, and whether that owner is gone:
 * on this host a process that no longer exists; on another host one that has not renewed
 * its lease (we cannot see its processes).
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";

/** Seconds after which an owner on another host that has not renewed is taken to be gone. */
export function leaseSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.NBLAST_FANOUT_LEASE_SECONDS);
  return Number.isFinite(v) && v > 0 ? v : 600;
}

let hostTagCache: string | undefined;

/** 8 hex digits naming this host in file names (a host name may be long or hold any character). */
export function hostTag(): string {
  hostTagCache ??= createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
  return hostTagCache;
}

/** True unless the process is surely gone (ESRCH); EPERM means it exists under another user. */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Gone: same host and the pid is dead; other host (or unknown) and not renewed for a lease.
 * `sameHost` compares host names or host tags, whichever the owner recorded.
 */
export function ownerGone(o: { sameHost: boolean; pid: number | undefined; renewedMs: number }, nowMs = Date.now()): boolean {
  if (o.sameHost && o.pid !== undefined) return !pidAlive(o.pid);
  return nowMs - o.renewedMs > leaseSeconds() * 1000;
}
