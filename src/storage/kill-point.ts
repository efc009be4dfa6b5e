/**
 * Named points where a kill test stops the process with SIGKILL, as a crash would, at an
 * exact phase (a signal sent from outside cannot hit "after the shard, before its marker",
 * which lasts microseconds). Inert unless NBLAST_FANOUT_KILL_AT names the point; read at
 * each call, so nothing is cached. Points: cache-build, plan, bin-scoring, before-marker.
 */
export type KillPoint = "cache-build" | "plan" | "bin-scoring" | "before-marker";

export function killPoint(point: KillPoint): void {
  if (process.env.NBLAST_FANOUT_KILL_AT === point) process.kill(process.pid, "SIGKILL");
}
