/**
 * `submit slurm`: a planned run's missing bins as sbatch arrays. The request is checked
 * against the cluster's limits first; the scripts are written into RUN/slurm/ (readable,
 * and submittable by hand with RUN/slurm/submit.sh); then each array is sent with
 * `sbatch --parsable` and its job id recorded in RUN/slurm/submission.json, with an
 * optional job that exports or loads the result once every array has succeeded.
 */
import { mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { InputError } from "../../nblast/errors.ts";
import { readManifest } from "../../plan/index.ts";
import { parseStorageUri } from "../../storage/open.ts";
import type { Storage } from "../../storage/types.ts";
import { binStatus } from "../../worker/markers.ts";
import { binsOfTask, formatRanges, layOutArrays, type ArrayLayout } from "./arrays.ts";
import { readCluster, type SlurmCluster } from "./cluster.ts";
import { firstLines, slurmCommand } from "./commands.ts";
import { readSubmission, withHandSubmittedIds, writeSubmission, SUBMISSION_FORMAT, SUBMISSION_VERSION, type Submission, type SubmittedArray } from "./record.ts";
import { checkRequest, explainSbatchError, type SlurmRequest } from "./request.ts";
import { arrayScript, submitScript, thenScript } from "./script.ts";

export interface ThenJob {
  readonly kind: "export" | "load";
  /** export: the merged file (default RUN/result.parquet; .csv writes CSV). */
  readonly out?: string;
  readonly similarityId?: number;
  readonly catmaid?: boolean;
}

export interface SubmitSlurmOptions {
  readonly run: Storage;
  readonly request: SlurmRequest;
  readonly then?: ThenJob;
  readonly dryRun: boolean;
  /** false: workers run with --no-prune. */
  readonly prune: boolean;
  readonly log?: (line: string) => void;
}

export interface SubmitSlurmResult {
  readonly submission: Submission;
  readonly dryRun: boolean;
  /** Bins already done when submitted (not sent). */
  readonly alreadyDone: number;
  /** --bins-per-task was raised to keep the tasks within the cluster's submit limit. */
  readonly raisedPerTask: boolean;
}

/** The run's folder: Slurm runs live on a file system the compute nodes share. */
export function localRunPath(run: Storage): string {
  const loc = parseStorageUri(run.uri);
  if (loc.kind !== "local") {
    throw new InputError(`${run.uri}: Slurm runs need a run folder on a shared file system, not S3 (compute nodes often reach nothing else); copy the run to a shared folder first`);
  }
  return loc.path;
}

/** A job name part: the run folder's name, safe in any shell and Slurm field. */
export function runName(path: string): string {
  return basename(path).replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40) || "run";
}

export async function submitSlurm(o: SubmitSlurmOptions): Promise<SubmitSlurmResult> {
  const log = o.log ?? (() => {});
  const path = localRunPath(o.run);
  const manifest = await readManifest(o.run);
  const earlier = await readSubmission(o.run);
  if (earlier !== undefined && (await withHandSubmittedIds(o.run, earlier)).state !== "written") {
    throw new InputError(
      `${o.run.uri} was already submitted to Slurm (jobs ${earlier.arrays.map((a) => a.jobId).join(", ")}): follow it with \`nblast-fanout status --run ${o.run.uri}\`, ` +
        `send its missing bins again with \`nblast-fanout resume --run ${o.run.uri}\``,
    );
  }
  const bins = await binStatus(o.run);
  const todo = [...bins.pending, ...bins.failed.map((f) => f.bin)].sort((a, b) => a - b);
  if (todo.length === 0) throw new InputError(`every one of the ${bins.bins} bins of ${o.run.uri} is done already: nothing to submit`);
  if (o.then?.kind === "load" && o.then.similarityId === undefined) throw new InputError("--then load needs --similarity-id");

  const cluster = await readCluster();
  const partition = checkRequest(cluster, o.request);
  const laid = layOutArrays(todo, o.request.binsPerTask, limitsOf(cluster));
  if (laid.raised) log(`${laid.perTask} bins per task, so that the run's tasks stay within the cluster's limit of ${limitsOf(cluster).maxTasks} jobs`);
  const request: SlurmRequest = { ...o.request, binsPerTask: laid.perTask, partition: partition.name };

  await mkdir(join(path, "slurm", "logs"), { recursive: true });
  const name = runName(path);
  const cacheDir = localCacheDir(manifest.cache.uri);
  const arrays: SubmittedArray[] = [];
  const now = new Date().toISOString();
  for (const [i, layout] of laid.arrays.entries()) {
    const script = `slurm/array-${i}.sbatch`;
    const title = laid.arrays.length === 1 ? "the one array" : `array ${i + 1} of ${laid.arrays.length}`;
    await o.run.put(script, arrayScript({ run: path, runName: name, title, layout, binCount: bins.bins, request, partition: partition.name, cacheDir, prune: o.prune }));
    arrays.push(describeArray(layout, script, bins.bins, "submit", now));
  }
  let then: Submission["then"];
  if (o.then !== undefined) {
    const script = `slurm/then-${o.then.kind}.sbatch`;
    const out = o.then.kind === "export" ? (o.then.out ?? join(path, "result.parquet")) : undefined;
    await o.run.put(script, thenScript({ run: path, runName: name, kind: o.then.kind, request, partition: partition.name, out, similarityId: o.then.similarityId, catmaid: o.then.catmaid }));
    then = { kind: o.then.kind, jobId: "", script, out };
  }
  await o.run.put(
    "slurm/submit.sh",
    submitScript(path, arrays.map((a) => basename(a.script)), then === undefined ? undefined : basename(then.script)),
  );
  const submission: Submission = {
    format: SUBMISSION_FORMAT,
    version: SUBMISSION_VERSION,
    run: path,
    manifest: manifest.digest,
    cluster: cluster.clusterName,
    state: "written",
    createdAt: now,
    updatedAt: now,
    request: {
      partition: partition.name,
      account: request.account,
      qos: request.qos,
      cpusPerTask: request.cpusPerTask,
      memory: request.memory,
      time: request.time,
      maxParallel: request.maxParallel,
      binsPerTask: laid.perTask,
      runtime: request.runtime,
      image: request.image,
      sbatchArgs: [...request.sbatchArgs],
    },
    arrays,
    then,
  };
  await o.run.delete("slurm/job-ids.txt");
  if (o.dryRun) {
    await writeSubmission(o.run, submission);
    return { submission, dryRun: true, alreadyDone: bins.done.length, raisedPerTask: laid.raised };
  }

  // From here on every job sbatch accepts is recorded, even when a later one is refused.
  const submitted: SubmittedArray[] = [];
  const record = async (state: Submission["state"], t?: Submission["then"]): Promise<Submission> => {
    const s: Submission = { ...submission, state, arrays: [...submitted, ...arrays.slice(submitted.length)], then: t ?? then, updatedAt: new Date().toISOString() };
    await writeSubmission(o.run, s);
    return s;
  };
  for (const a of arrays) {
    try {
      const id = await sbatch([a.script], path);
      submitted.push({ ...a, jobId: id, submittedAt: new Date().toISOString() });
      log(`${a.script}: job ${id}, bins ${a.bins}`);
    } catch (err) {
      if (submitted.length > 0) await record("submitted");
      throw err;
    }
  }
  let s = await record("submitted");
  if (then !== undefined) {
    const id = await sbatch([`--dependency=afterok:${submitted.map((a) => a.jobId).join(":")}`, "--kill-on-invalid-dep=yes", then.script], path);
    log(`${then.script}: job ${id}, after the arrays succeed`);
    s = await record("submitted", { ...then, jobId: id });
  }
  return { submission: s, dryRun: false, alreadyDone: bins.done.length, raisedPerTask: laid.raised };
}

export function limitsOf(cluster: SlurmCluster): { maxArraySize: number; maxTasks: number } {
  return { maxArraySize: cluster.maxArraySize, maxTasks: cluster.maxSubmitJobs ?? cluster.maxJobCount };
}

export function describeArray(layout: ArrayLayout, script: string, binCount: number, by: "submit" | "resume", at: string): SubmittedArray {
  const bins = layout.indices.flatMap((i) => binsOfTask(layout, i, binCount));
  return { jobId: "", script, offset: layout.offset, perTask: layout.perTask, indices: formatRanges(layout.indices), bins: formatRanges(bins), by, submittedAt: at };
}

/** A local cache folder the workers read; undefined for an S3 cache. */
export function localCacheDir(uri: string): string | undefined {
  const loc = parseStorageUri(uri);
  return loc.kind === "local" ? loc.path : undefined;
}

/** sbatch --parsable from the run's slurm folder; the job id, or an InputError with Slurm's words and what to change. */
export async function sbatch(args: readonly string[], runPath: string): Promise<string> {
  const r = await slurmCommand("sbatch", ["--parsable", `--chdir=${join(runPath, "slurm")}`, ...args.map((a) => (a.startsWith("slurm/") ? join(runPath, a) : a))]);
  const id = /^(\d+)/.exec(r.stdout.trim())?.[1];
  if (r.code !== 0 || id === undefined) {
    const hint = explainSbatchError(r.stderr);
    throw new InputError(`sbatch refused ${args[args.length - 1]}: ${firstLines(r.stderr || r.stdout) || `exit ${r.code}`}${hint === undefined ? "" : `; ${hint}`}`);
  }
  return id;
}

export function formatSubmitted(r: SubmitSlurmResult, runUri: string): string {
  const s = r.submission;
  const tasks = s.arrays.reduce((n, a) => n + countRanges(a.indices), 0);
  const head = r.dryRun
    ? [
        `wrote ${s.arrays.length} sbatch array script(s), ${tasks} tasks of ${s.request.binsPerTask} bin(s), into ${s.run}/slurm/ (nothing submitted)`,
        `submit them with: bash ${s.run}/slurm/submit.sh`,
        `then follow with: nblast-fanout status --run ${runUri}`,
      ]
    : [
        `submitted ${s.arrays.length} array job(s) to ${s.cluster} (${s.arrays.map((a) => a.jobId).join(", ")}): ${tasks} tasks of ${s.request.binsPerTask} bin(s)` +
          `${r.alreadyDone > 0 ? `, ${r.alreadyDone} bins already done` : ""}`,
        ...(s.then === undefined ? [] : [`then: ${s.then.kind} as job ${s.then.jobId} once every array has succeeded${s.then.out === undefined ? "" : ` (into ${s.then.out})`}`]),
        `logs: ${s.run}/slurm/logs/; follow with: nblast-fanout status --run ${runUri}`,
      ];
  return head.join("\n");
}

export function countRanges(text: string): number {
  let n = 0;
  for (const part of text.split(",")) {
    const [lo, hi] = part.split("-").map(Number);
    if (Number.isFinite(lo)) n += hi === undefined ? 1 : hi - lo + 1;
  }
  return n;
}
