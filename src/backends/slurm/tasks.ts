/**
 * The state of every array task of a Slurm run, from what the cluster still knows:
 * `sacct` where accounting is on; else `scontrol show job`, which holds finished jobs for
 * MinJobAge seconds; else the task's own log on the shared file system, where slurmstepd
 * writes why it killed a task (time limit, memory, preemption) and the task script writes
 * how it ended. (With accounting off, `sacct -c` reads the job completion log, but Slurm
 * 22.05 drops the array index from it, so a task cannot be told from another there.)
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseRanges } from "./arrays.ts";
import { parseOneLiners, slurmCommand } from "./commands.ts";
import type { SubmittedArray } from "./record.ts";

export const LIVE_STATES = new Set(["PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "STAGE_OUT", "SIGNALING"]);
export const FAILED_STATES = new Set(["FAILED", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL", "DEADLINE"]);

export interface TaskState {
  /** JOBID_INDEX. */
  readonly id: string;
  readonly arrayJobId: string;
  readonly index: number;
  /** Slurm's state word (CANCELLED for "CANCELLED by 0"), UNKNOWN when nothing tells. */
  readonly state: string;
  /** Why a PENDING task waits (Resources, Priority, JobArrayTaskLimit, ...), or why one ended. */
  readonly reason?: string;
  readonly exitCode?: string;
  /** Where the state was read: sacct, scontrol, log. */
  readonly from: "sacct" | "scontrol" | "log" | "none";
  /** The task's log (slurm/logs/JOBID_INDEX.log). */
  readonly log: string;
}

export async function taskStates(runPath: string, arrays: readonly SubmittedArray[], accounting: boolean): Promise<TaskState[]> {
  const out: TaskState[] = [];
  for (const a of arrays) {
    if (a.jobId === "") continue;
    const known = accounting ? await fromSacct(a.jobId) : new Map<number, Partial<TaskState>>();
    if (known.size === 0) for (const [k, v] of await fromScontrol(a.jobId)) known.set(k, v);
    for (const index of parseRanges(a.indices)) {
      const log = join(runPath, "slurm", "logs", `${a.jobId}_${index}.log`);
      const k = known.get(index);
      let state = k?.state ?? "UNKNOWN";
      let from: TaskState["from"] = k?.from ?? "none";
      let reason = k?.reason;
      if (state === "UNKNOWN" || state === "FAILED" || state === "CANCELLED") {
        const text = await readFile(log, "utf8").catch(() => undefined);
        const fromLog = text === undefined ? undefined : stateFromLog(text);
        // The log names causes the state word may not (polled memory limits end FAILED).
        if (fromLog !== undefined && (state === "UNKNOWN" || fromLog.state !== "COMPLETED")) {
          if (fromLog.state !== state) reason = fromLog.reason ?? reason;
          if (state === "UNKNOWN") from = "log";
          state = fromLog.state;
        }
      }
      out.push({ id: `${a.jobId}_${index}`, arrayJobId: a.jobId, index, state, reason, exitCode: k?.exitCode, from, log });
    }
    // Slurm keeps no record of a pending task removed by scancel: in an array that no longer
    // runs anything, a task the cluster does not know and that never wrote its log was cancelled
    // before it started.
    const mine = out.filter((t) => t.arrayJobId === a.jobId);
    if (!mine.some((t) => LIVE_STATES.has(t.state))) {
      for (const t of mine) {
        if (t.state === "UNKNOWN" && t.from === "none" && !(await exists(t.log))) {
          out[out.indexOf(t)] = { ...t, state: "CANCELLED", reason: "removed before it started" };
        }
      }
    }
  }
  return out;
}

async function fromScontrol(jobId: string): Promise<Map<number, Partial<TaskState>>> {
  const out = new Map<number, Partial<TaskState>>();
  const r = await slurmCommand("scontrol", ["show", "job", "-o", jobId]);
  if (r.code !== 0) return out; // purged (older than MinJobAge): the logs tell
  for (const rec of parseOneLiners(r.stdout)) {
    const tasks = rec.get("ArrayTaskId");
    if (tasks === undefined) continue;
    const state = (rec.get("JobState") ?? "UNKNOWN").split(/\s/)[0];
    const reason = rec.get("Reason");
    for (const index of parseRanges(tasks.replace(/%\d+$/, ""))) {
      out.set(index, { state, reason: reason === "None" ? undefined : reason, exitCode: rec.get("ExitCode"), from: "scontrol" });
    }
  }
  return out;
}

async function fromSacct(jobId: string): Promise<Map<number, Partial<TaskState>>> {
  const out = new Map<number, Partial<TaskState>>();
  const r = await slurmCommand("sacct", ["-n", "-P", "-X", "-j", jobId, "-o", "JobID,State,ExitCode,Reason"]);
  if (r.code !== 0) return out;
  for (const line of r.stdout.split("\n")) {
    const [id, stateText, exitCode, reason] = line.split("|");
    const m = /^\d+_(?:\[([^\]]+)\]|(\d+))$/.exec(id ?? "");
    if (m === null) continue;
    const state = (stateText ?? "UNKNOWN").split(/\s/)[0];
    for (const index of parseRanges((m[1] ?? m[2]).replace(/%\d+$/, ""))) {
      out.set(index, { state, reason: reason === "None" || reason === "" ? undefined : reason, exitCode, from: "sacct" });
    }
  }
  return out;
}

/** What a task's log says about how it ended; undefined when it says nothing yet. */
export function stateFromLog(text: string): { state: string; reason?: string } | undefined {
  // Only the last start counts: a requeued task appends to the same log.
  const last = text.lastIndexOf("nblast-fanout task ");
  const tail = last < 0 ? text : text.slice(last);
  if (/oom-kill|exceeded memory limit|Exceeded job memory limit|out of memory/i.test(tail)) return { state: "OUT_OF_MEMORY", reason: "the task exceeded its memory" };
  if (/CANCELLED AT \S+ DUE TO TIME LIMIT/.test(tail)) return { state: "TIMEOUT", reason: "the time limit" };
  if (/DUE TO PREEMPTION/.test(tail)) return { state: "PREEMPTED" };
  if (/\*\*\* (JOB|STEP) \S+ ON \S+ CANCELLED AT/.test(tail)) return { state: "CANCELLED" };
  // The task script's own last word (src/backends/slurm/script.ts).
  if (/nblast-fanout task: done/.test(tail)) return { state: "COMPLETED" };
  if (/nblast-fanout task: stopped by SIGTERM/.test(tail)) return { state: "CANCELLED", reason: "SIGTERM" };
  if (/nblast-fanout task: \d+ bin\(s\) failed/.test(tail)) return { state: "FAILED", reason: "a bin failed" };
  return undefined;
}

/** The last `n` lines of a log, or undefined when it cannot be read. */
export async function logTail(path: string, n = 6): Promise<string[] | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  return text.trimEnd().split("\n").slice(-n);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
