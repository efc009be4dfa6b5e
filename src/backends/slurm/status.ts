/**
 * `status` of a Slurm run: its tasks by state (PENDING with the reason they wait), and
 * for each failed task whose bins are still missing the tail of its log and the likely
 * fix. Bins come counted from the run's markers, which alone decide what is done.
 */
import type { Storage } from "../../storage/types.ts";
import type { BinStatus } from "../../worker/markers.ts";
import { binsOfTask } from "./arrays.ts";
import { readCluster } from "./cluster.ts";
import { parseOneLiners, slurmCommand } from "./commands.ts";
import { readSubmission, withHandSubmittedIds, type Submission } from "./record.ts";
import { FAILED_STATES, LIVE_STATES, logTail, taskStates, type TaskState } from "./tasks.ts";
import { formatSlurmTime, parseSlurmMemory } from "./units.ts";

export interface FailedTask extends TaskState {
  readonly bins: number[];
  readonly missingBins: number[];
  readonly logTail: string[] | undefined;
  readonly hint: string;
}

export interface SlurmStatus {
  readonly cluster: string;
  readonly state: Submission["state"];
  readonly jobs: string[];
  /** Tasks by state word ("PENDING (Resources)" keeps the reason apart). */
  readonly tasksByState: Record<string, number>;
  readonly failed: FailedTask[];
  /** Bins neither done nor in a live task: what `resume` would send. */
  readonly unqueued: number[];
  readonly then?: { kind: string; jobId: string; state: string; out?: string };
  readonly tasks: TaskState[];
}

export async function slurmStatus(run: Storage, bins: BinStatus): Promise<SlurmStatus> {
  const rec = await withHandSubmittedIds(run, (await readSubmission(run))!);
  const cluster = await readCluster().catch(() => undefined);
  const tasks = await taskStates(rec.run, rec.arrays, cluster?.accounting ?? false);
  const done = new Set(bins.done);
  const byId = new Map(rec.arrays.map((a) => [a.jobId, a]));
  const tasksByState: Record<string, number> = {};
  const live = new Set<number>();
  const failed: FailedTask[] = [];
  for (const t of tasks) {
    const key = t.state === "PENDING" && t.reason !== undefined ? `PENDING (${t.reason})` : t.state;
    tasksByState[key] = (tasksByState[key] ?? 0) + 1;
    const a = byId.get(t.arrayJobId)!;
    const taskBins = binsOfTask(a, t.index, bins.bins);
    if (LIVE_STATES.has(t.state)) for (const b of taskBins) live.add(b);
  }
  for (const t of tasks) {
    if (!FAILED_STATES.has(t.state)) continue;
    const taskBins = binsOfTask(byId.get(t.arrayJobId)!, t.index, bins.bins);
    const missingBins = taskBins.filter((b) => !done.has(b) && !live.has(b));
    if (missingBins.length === 0) continue; // done since (resumed, or another task ran them)
    failed.push({ ...t, bins: taskBins, missingBins, logTail: await logTail(t.log), hint: hintFor(t, rec) });
  }
  const unqueued = [...bins.pending, ...bins.failed.map((f) => f.bin)].filter((b) => !live.has(b)).sort((x, y) => x - y);
  let then: SlurmStatus["then"];
  if (rec.then !== undefined && rec.then.jobId !== "") {
    const [t] = await taskStatesOfJob(rec.then.jobId);
    then = { kind: rec.then.kind, jobId: rec.then.jobId, state: t ?? "UNKNOWN", out: rec.then.out };
  }
  return { cluster: rec.cluster, state: rec.state, jobs: rec.arrays.map((a) => a.jobId).filter((j) => j !== ""), tasksByState, failed, unqueued, then, tasks };
}

async function taskStatesOfJob(jobId: string): Promise<string[]> {
  const r = await slurmCommand("scontrol", ["show", "job", "-o", jobId]);
  if (r.code !== 0) return [];
  return parseOneLiners(r.stdout).map((x) => (x.get("JobState") ?? "UNKNOWN").split(/\s/)[0]);
}

/** The likely fix for a failed task, in the options of `resume`. */
export function hintFor(t: TaskState, rec: Submission): string {
  const req = rec.request;
  switch (t.state) {
    case "OUT_OF_MEMORY": {
      const mem = req.memory;
      if (mem === undefined) return "it ran out of memory: resume with more memory, e.g. --mem-per-cpu 4G (the cluster's default was too small)";
      const more = `${Math.ceil((parseSlurmMemory(mem.text) ?? mem.mb) * 2)}M`;
      return `it ran out of memory (${mem.per === "cpu" ? `--mem-per-cpu ${mem.text}` : `--mem ${mem.text}`}): resume with more, e.g. \`resume --run ${rec.run} ${mem.per === "cpu" ? "--mem-per-cpu" : "--mem"} ${more}\``;
    }
    case "TIMEOUT": {
      const now = req.time?.seconds;
      return now === undefined
        ? "it reached the partition's default time limit: resume with a longer --time, or plan more, smaller bins"
        : `it reached its time limit (--time ${req.time!.text}): resume with more, e.g. \`resume --run ${rec.run} --time ${formatSlurmTime(now * 2)}\`, or plan more, smaller bins`;
    }
    case "CANCELLED":
      return "it was cancelled (scancel, or by an administrator): `resume` sends its bins again";
    case "PREEMPTED":
      return "a higher-priority job took its node; it requeues by itself (--requeue), else `resume` sends its bins again";
    case "NODE_FAIL":
    case "BOOT_FAIL":
      return "its node failed: `resume` sends its bins again (add --sbatch-arg=--exclude=NODE to avoid that node)";
    case "DEADLINE":
      return "it missed its deadline: resume without --deadline";
    default:
      return "see the log above (and failed/K.json of its bins); `resume` sends its bins again";
  }
}

export function formatSlurmStatus(s: SlurmStatus, bins: BinStatus, runUri: string): string[] {
  const lines: string[] = [];
  const states = Object.entries(s.tasksByState)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  lines.push(`slurm (${s.cluster}): jobs ${s.jobs.join(", ") || "(none yet: run slurm/submit.sh)"}${s.state === "cancelled" ? ", cancelled" : ""}`);
  lines.push(`tasks: ${states || "none"}`);
  for (const f of s.failed) {
    lines.push(`task ${f.id} ${f.state}${f.reason !== undefined ? ` (${f.reason})` : ""}, bins ${f.missingBins.join(",")} not done; log ${f.log}:`);
    for (const l of f.logTail ?? ["(no log)"]) lines.push(`    ${l}`);
    lines.push(`  hint: ${f.hint}`);
  }
  if (s.then !== undefined) lines.push(`then: ${s.then.kind} job ${s.then.jobId} ${s.then.state}${s.then.out !== undefined ? ` (into ${s.then.out})` : ""}`);
  if (s.unqueued.length > 0 && s.state !== "written") {
    lines.push(`${s.unqueued.length} bins are neither done nor queued: \`nblast-fanout resume --run ${runUri}\` sends only those`);
  } else if (bins.counts.done === bins.bins) {
    lines.push("every bin is done");
  }
  return lines;
}
