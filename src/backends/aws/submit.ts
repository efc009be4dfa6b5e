/**
 * `submit aws --run RUN_URI [--workers N]` and the start Lambda share this: a run in the
 * stack's bucket is claimed (aws/submission.json, created once), its bins that are not
 * done are sent to the queue (the costliest first), one array job of N workers is
 * submitted, and the record says so. A local run is first moved into the bucket (upload.ts).
 */
import { basename } from "node:path";
import { InputError } from "../../nblast/errors.ts";
import { readManifest, writeManifest, type RunManifest } from "../../plan/manifest.ts";
import { openStorage, parseStorageUri } from "../../storage/open.ts";
import type { Storage } from "../../storage/types.ts";
import { binStatus } from "../../worker/markers.ts";
import type { AwsClients } from "./clients.ts";
import { checkWorkers, jobName, MAX_WORKERS, submitWorkers } from "./jobs.ts";
import { sendBins } from "./queue.ts";
import {
  claimSubmission,
  formatRanges,
  readSubmission,
  SUBMISSION_FORMAT,
  SUBMISSION_VERSION,
  writeSubmission,
  type StackConfig,
  type Submission,
} from "./submission.ts";
import { uploadLocalRun, workersCanRead } from "./upload.ts";

/** Array size when nobody says: the start Lambda's DEFAULT_WORKERS, and the CLI's --workers. */
export const DEFAULT_WORKERS = 100;

export interface StartedRun {
  readonly run: string;
  readonly record: Submission;
  /** Bins sent to the queue now. */
  readonly enqueued: number;
  /** Bins already done (not sent). */
  readonly alreadyDone: number;
  /** The job submitted now, if any bins needed workers. */
  readonly job: Submission["jobs"][number] | undefined;
}

/** A run's name: the last part of its URI; letters, digits, '.', '_' and '-'. */
export function checkRunName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(name)) {
    throw new InputError(`"${name}" cannot name a run in the bucket: use letters, digits, '.', '_' and '-' (up to 200), e.g. --name my-run`);
  }
  return name;
}

/** s3://BUCKET/runs/NAME for a run in the stack's bucket, else an InputError saying why it cannot run there. */
export function runNameIn(uri: string, bucket: string): string {
  const loc = parseStorageUri(uri);
  const m = loc.kind === "s3" ? /^runs\/([^/]+)$/.exec(loc.prefix) : null;
  if (loc.kind !== "s3" || loc.bucket !== bucket || m === null) {
    throw new InputError(
      `${uri} is not a run of this stack: its workers read and write only s3://${bucket}/runs/NAME; ` +
        `submit the local run folder (it is uploaded there) or plan the run with --out s3://${bucket}/runs/NAME`,
    );
  }
  return m[1];
}

function newRecord(run: string, manifest: RunManifest, stack: StackConfig, workers: number, by: Submission["by"]): Submission {
  const now = new Date().toISOString();
  return {
    format: SUBMISSION_FORMAT,
    version: SUBMISSION_VERSION,
    run,
    manifest: manifest.digest,
    state: "submitting",
    by,
    createdAt: now,
    updatedAt: now,
    stack,
    workers,
    jobs: [],
    enqueued: [],
  };
}

function alreadySubmitted(existing: Submission, uri: string): InputError {
  return new InputError(
    `${uri} was already submitted (by the ${existing.by === "cli" ? "CLI" : "start Lambda"} at ${existing.createdAt}, now ${existing.state}); ` +
      `see \`nblast-fanout status --run ${uri}\`, or \`resume --run ${uri}\` to send what is missing`,
  );
}

export interface SubmitAwsOptions {
  readonly runUri: string;
  readonly stack: StackConfig;
  readonly clients: AwsClients;
  readonly workers?: number;
  /** The run's name in the bucket (a local run; default its folder's name). */
  readonly name?: string;
  /** Where a local cache goes, caches/<cacheName> (default the run's name). */
  readonly cacheName?: string;
  readonly log?: (line: string) => void;
}

/** `submit aws`: a local run is uploaded first; a run already in the bucket is submitted as it is. */
export async function submitAws(o: SubmitAwsOptions): Promise<StartedRun> {
  const log = o.log ?? (() => {});
  const workers = checkWorkers(o.workers ?? DEFAULT_WORKERS);
  const loc = parseStorageUri(o.runUri);
  let run: Storage;
  let manifest: RunManifest;
  let record: Submission;
  if (loc.kind === "local") {
    const name = checkRunName(o.name ?? basename(loc.path));
    const local = openStorage(loc.path);
    run = openStorage(`s3://${o.stack.bucket}/runs/${name}`);
    const existing = await readSubmission(run);
    if (existing !== undefined) throw alreadySubmitted(existing, run.uri);
    const cacheDest = openStorage(`s3://${o.stack.bucket}/caches/${checkRunName(o.cacheName ?? name)}`);
    log(`uploading ${loc.path} to ${run.uri}`);
    const up = await uploadLocalRun(local, run, { bucket: o.stack.bucket, cacheDest, log });
    manifest = up.manifest;
    record = newRecord(run.uri, manifest, o.stack, workers, "cli");
    if (!(await claimSubmission(run, record))) throw alreadySubmitted((await readSubmission(run))!, run.uri);
    // Written after the claim: the start Lambda this wakes finds the run claimed.
    await writeManifest(run, manifest);
  } else {
    if (o.name !== undefined) throw new InputError("--name is for a local run (it names the run in the bucket); this run is already in S3");
    runNameIn(o.runUri, o.stack.bucket);
    run = openStorage(o.runUri);
    manifest = await readManifest(run);
    checkCacheReadable(manifest, o.stack.bucket, run.uri);
    record = newRecord(run.uri, manifest, o.stack, workers, "cli");
    if (!(await claimSubmission(run, record))) throw alreadySubmitted((await readSubmission(run))!, run.uri);
  }
  return startClaimed(run, manifest, record, o.clients, "submit");
}

function checkCacheReadable(manifest: RunManifest, bucket: string, runUri: string): void {
  if (!workersCanRead(manifest.cache.uri, bucket)) {
    throw new InputError(
      `${runUri} names its cache at ${manifest.cache.uri}, which the workers cannot read (they read s3://${bucket}/caches/ and runs/); ` +
        `plan the run again with --cache s3://${bucket}/caches/NAME, or submit a local run folder (its cache is uploaded)`,
    );
  }
}

/**
 * The start Lambda's part: a manifest arrived at s3://BUCKET/runs/NAME/manifest.json. The
 * run is claimed unless someone (the CLI) already did; undefined then.
 */
export async function startUploadedRun(runUri: string, stack: StackConfig, clients: AwsClients, workers: number): Promise<StartedRun | undefined> {
  runNameIn(runUri, stack.bucket);
  const run = openStorage(runUri);
  const manifest = await readManifest(run);
  checkCacheReadable(manifest, stack.bucket, run.uri);
  const record = newRecord(run.uri, manifest, stack, checkWorkers(workers), "lambda");
  if (!(await claimSubmission(run, record))) return undefined;
  return startClaimed(run, manifest, record, clients, "lambda");
}

/** Bins not done, the costliest first (the longest start first, so the run's tail is short). */
export function costliestFirst(manifest: RunManifest, bins: readonly number[]): number[] {
  const cost = manifest.work.bins;
  return [...bins].sort((a, b) => cost[b].cost - cost[a].cost || a - b);
}

async function startClaimed(run: Storage, manifest: RunManifest, claimed: Submission, clients: AwsClients, by: "submit" | "lambda"): Promise<StartedRun> {
  const status = await binStatus(run);
  const todo = costliestFirst(manifest, [...status.pending, ...status.failed.map((f) => f.bin)]);
  let record = claimed;
  await sendBins(clients.sqs, record.stack.queueUrl, run.uri, todo);
  const at = new Date().toISOString();
  record = { ...record, enqueued: [...record.enqueued, { at, bins: formatRanges(todo), count: todo.length, by }] };
  let job: StartedRun["job"];
  if (todo.length > 0) {
    const name = jobName(run.uri.slice(run.uri.lastIndexOf("/") + 1));
    job = await submitWorkers(clients.batch, record.stack, name, Math.min(record.workers, todo.length, MAX_WORKERS));
    record = { ...record, jobs: [...record.jobs, job] };
  }
  record = { ...record, state: "submitted" };
  await writeSubmission(run, record);
  return { run: run.uri, record, enqueued: todo.length, alreadyDone: status.counts.done, job };
}

export function formatStarted(s: StartedRun): string {
  if (s.job === undefined) return `${s.run}: every bin is already done (${s.alreadyDone}); nothing to submit`;
  return (
    `${s.run}: ${s.enqueued} bins queued (the costliest first)${s.alreadyDone > 0 ? `, ${s.alreadyDone} already done` : ""}; ` +
    `job ${s.job.name} (${s.job.id}) of ${s.job.size} worker${s.job.size === 1 ? "" : "s"} submitted. ` +
    `Follow it with: nblast-fanout status --run ${s.run}`
  );
}
