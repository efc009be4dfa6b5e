import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/**
 * How many threads a worker may use, in order of authority: the explicit --threads, Slurm's
 * SLURM_CPUS_PER_TASK, the container's CPU quota (cgroup v2 cpu.max, or v1 cfs quota), else the
 * machine. A Batch container sees every host core in os.availableParallelism() but may only use
 * its quota: oversubscribing it makes every bin slower.
 */
export function resolveThreadCount(explicit: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) return explicit;
  const slurm = Number(env.SLURM_CPUS_PER_TASK);
  if (Number.isInteger(slurm) && slurm > 0) return slurm;
  const machine = availableParallelism();
  const quota = cgroupCpuQuota();
  return quota === undefined ? machine : Math.max(1, Math.min(machine, Math.floor(quota)));
}

/** CPUs granted by the cgroup, or undefined when unlimited or unknown. */
export function cgroupCpuQuota(read: (path: string) => string | undefined = readOrUndefined): number | undefined {
  const v2 = read("/sys/fs/cgroup/cpu.max"); // "max 100000" or "200000 100000"
  if (v2 !== undefined) {
    const [quota, period] = v2.trim().split(/\s+/);
    if (quota === "max") return undefined;
    return ratio(Number(quota), Number(period));
  }
  const q = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  const p = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  if (q === undefined || p === undefined) return undefined;
  return ratio(Number(q), Number(p));
}

function ratio(quota: number, period: number): number | undefined {
  return quota > 0 && period > 0 ? quota / period : undefined;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
