/**
 * `resume` of a Slurm run: one array of only the bins that are neither done nor in a live
 * task (`--array=3,17,42`, cut at MaxArraySize as needed), with the first submission's
 * request, changed where the user asks (more memory after OUT_OF_MEMORY, more time after
 * TIMEOUT). A `--then` job that can no longer run is submitted again after the new arrays.
 */
import { InputError } from "../../nblast/errors.ts";
import { readManifest } from "../../plan/index.ts";
import type { Storage } from "../../storage/types.ts";
import { binStatus } from "../../worker/markers.ts";
import { layOutArrays, type ArrayLayout } from "./arrays.ts";
import { readCluster } from "./cluster.ts";
import { slurmCommand } from "./commands.ts";
import { readSubmission, withHandSubmittedIds, writeSubmission, type Submission, type SubmittedArray } from "./record.ts";
import { checkRequest, parseMemory, parseTime, type SlurmRequest } from "./request.ts";
import { arrayScript, thenScript } from "./script.ts";
import { describeArray, limitsOf, localCacheDir, runName, sbatch } from "./submit.ts";
import { LIVE_STATES, taskStates } from "./tasks.ts";
import { binsOfTask } from "./arrays.ts";

export interface ResumeSlurmOptions {
  readonly memPerCpu?: string;
  readonly mem?: string;
  readonly time?: string;
  readonly cpusPerTask?: number;
}

export interface ResumeSlurmResult {
  readonly arrays: SubmittedArray[];
  readonly bins: number;
  readonly live: number;
  readonly then?: string;
}

export async function resumeSlurm(run: Storage, o: ResumeSlurmOptions): Promise<ResumeSlurmResult> {
  let rec: Submission = await withHandSubmittedIds(run, (await readSubmission(run))!);
  if (rec.state === "written") throw new InputError(`${run.uri}'s scripts were written (--dry-run) but never submitted: run ${rec.run}/slurm/submit.sh first`);
  const manifest = await readManifest(run);
  if (manifest.digest !== rec.manifest) throw new InputError(`${run.uri}/slurm/submission.json belongs to another plan of this folder (${rec.manifest}, now ${manifest.digest})`);
  const cluster = await readCluster();
  const bins = await binStatus(run);
  const tasks = await taskStates(rec.run, rec.arrays, cluster.accounting);
  const byId = new Map(rec.arrays.map((a) => [a.jobId, a]));
  const live = new Set<number>();
  const liveJobs = new Set<string>();
  for (const t of tasks) {
    if (!LIVE_STATES.has(t.state)) continue;
    liveJobs.add(t.arrayJobId);
    for (const b of binsOfTask(byId.get(t.arrayJobId)!, t.index, bins.bins)) live.add(b);
  }
  const missing = [...bins.pending, ...bins.failed.map((f) => f.bin)].filter((b) => !live.has(b)).sort((x, y) => x - y);
  if (missing.length === 0) return { arrays: [], bins: 0, live: live.size };

  const r = rec.request;
  if (o.mem !== undefined && o.memPerCpu !== undefined) throw new InputError("--mem and --mem-per-cpu exclude each other");
  const request: SlurmRequest = {
    partition: r.partition,
    account: r.account,
    qos: r.qos,
    cpusPerTask: o.cpusPerTask ?? r.cpusPerTask,
    memory: o.memPerCpu !== undefined ? parseMemory(o.memPerCpu, "cpu", "--mem-per-cpu") : o.mem !== undefined ? parseMemory(o.mem, "node", "--mem") : r.memory,
    time: o.time !== undefined ? parseTime(o.time) : r.time,
    maxParallel: r.maxParallel,
    binsPerTask: 1,
    runtime: r.runtime,
    image: r.image,
    sbatchArgs: r.sbatchArgs,
  };
  const partition = checkRequest(cluster, request);
  const laid = layOutArrays(missing, 1, limitsOf(cluster));
  const n = rec.arrays.filter((a) => a.by === "resume").length;
  const at = new Date().toISOString();
  const arrays: SubmittedArray[] = [];
  for (const [i, layout] of laid.arrays.entries()) {
    const script = `slurm/resume-${n + i}.sbatch`;
    await run.put(script, arrayScript({ run: rec.run, runName: runName(rec.run), title: `resume of ${at}`, layout: layout as ArrayLayout, binCount: bins.bins, request: { ...request, binsPerTask: laid.perTask }, partition: partition.name, cacheDir: localCacheDir(manifest.cache.uri), prune: true }));
    const a = describeArray(layout, script, bins.bins, "resume", at);
    const id = await sbatch([script], rec.run);
    arrays.push({ ...a, jobId: id });
    rec = { ...rec, arrays: [...rec.arrays, { ...a, jobId: id }], request: { ...rec.request, cpusPerTask: request.cpusPerTask, memory: request.memory, time: request.time }, updatedAt: new Date().toISOString() };
    await writeSubmission(run, rec);
  }
  let then: string | undefined;
  if (rec.then !== undefined && rec.then.jobId !== "") {
    // Its dependency was on arrays that failed: Slurm cancelled it (--kill-on-invalid-dep), or it waits in vain.
    await slurmCommand("scancel", [rec.then.jobId]);
    const deps = [`afterok:${arrays.map((a) => a.jobId).join(":")}`];
    const stillRunning = [...liveJobs].filter((j) => !arrays.some((a) => a.jobId === j));
    if (stillRunning.length > 0) deps.push(`afterany:${stillRunning.join(":")}`);
    await run.put(rec.then.script, thenScript({ run: rec.run, runName: runName(rec.run), kind: rec.then.kind, request, partition: partition.name, out: rec.then.out }));
    const id = await sbatch([`--dependency=${deps.join(",")}`, "--kill-on-invalid-dep=yes", rec.then.script], rec.run);
    rec = { ...rec, then: { ...rec.then, jobId: id }, updatedAt: new Date().toISOString() };
    await writeSubmission(run, rec);
    then = id;
  }
  return { arrays, bins: missing.length, live: live.size, then };
}

export function formatSlurmResume(r: ResumeSlurmResult, runUri: string): string {
  if (r.arrays.length === 0) {
    return r.live > 0 ? `nothing to resume: every bin not done is in a task still pending or running (${r.live} bins); see \`nblast-fanout status --run ${runUri}\`` : "nothing to resume: every bin is done";
  }
  return (
    `resubmitted ${r.bins} missing bins as ${r.arrays.length} array job(s) (${r.arrays.map((a) => `${a.jobId}: --array=${a.indices}`).join("; ")})` +
    `${r.then !== undefined ? `; the ${"then"} job again as ${r.then}` : ""}`
  );
}
