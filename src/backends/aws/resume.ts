/**
 * `resume --run` for an AWS run: send again the bins that are neither done nor queued, and
 * start workers if none is running.
 *
 * SQS cannot say which messages it holds (receiving one is the only way to see it, and
 * on the bin queue that counts a receive toward the dead-letter queue), so "queued" is
 * reasoned, not seen:
 * - a bin never sent (the record lists every bin sent, and when) is not queued;
 * - a bin in the dead-letter queue (looked at there, which is harmless) is not queued, and
 *   is left to `redrive`, which moves it back rather than adding a second copy;
 * - when the queue is empty (nothing waiting, in flight or delayed, of any run) no bin is queued;
 * - otherwise a bin that was sent and is not done is assumed queued: waiting, being worked
 *   on, or back after a failure. A message can still be lost (the queue's retention period
 *   passed, someone purged it): when the queue holds fewer messages than this run alone
 *   assumes, resume says so, and `--all-missing` sends every bin not done and not
 *   dead-lettered again. Duplicates cost nothing but a receive: the done markers dedupe.
 */
import { readManifest } from "../../plan/manifest.ts";
import { InputError } from "../../nblast/errors.ts";
import type { Storage } from "../../storage/types.ts";
import { binStatus } from "../../worker/markers.ts";
import { createAwsClients, type AwsClients } from "./clients.ts";
import { checkWorkers, describeJobs, jobName, MAX_WORKERS, submitWorkers } from "./jobs.ts";
import { queueDepth, sendBins } from "./queue.ts";
import { peekDeadLetters } from "./status.ts";
import { costliestFirst } from "./submit.ts";
import { enqueuedBins, formatRanges, readSubmission, writeSubmission, type Submission } from "./submission.ts";

export interface ResumeOptions {
  /** Send every bin neither done nor dead-lettered, assumed queued or not. */
  readonly allMissing?: boolean;
  /** Size of a new array job, if one is needed (default: the size first asked for). */
  readonly workers?: number;
  readonly clients?: AwsClients;
}

export interface ResumeResult {
  readonly sent: number;
  readonly assumedQueued: number;
  readonly deadLettered: number[];
  readonly job: Submission["jobs"][number] | undefined;
  readonly runningJobs: number;
  /** Set when the queue holds fewer messages than this run assumes queued. */
  readonly warning: string | undefined;
}

export async function resumeAws(run: Storage, opts: ResumeOptions = {}): Promise<ResumeResult> {
  const record = await readSubmission(run);
  if (record === undefined) throw new InputError(`${run.uri} was never submitted to AWS`);
  const manifest = await readManifest(run);
  if (manifest.digest !== record.manifest) throw new InputError(`${run.uri}: aws/submission.json belongs to another plan than manifest.json`);
  if (opts.workers !== undefined) checkWorkers(opts.workers);
  const own = opts.clients === undefined;
  const clients = opts.clients ?? createAwsClients(record.stack.region);
  try {
    const status = await binStatus(run);
    const notDone = [...status.pending, ...status.failed.map((f) => f.bin)];
    const [depth, jobs, dead] = await Promise.all([
      queueDepth(clients.sqs, record.stack.queueUrl),
      describeJobs(clients.batch, record.jobs),
      peekDeadLetters(clients, record),
    ]);
    const deadSet = new Set(dead);
    const candidates = notDone.filter((b) => !deadSet.has(b));
    const queueEmpty = depth.visible + depth.inFlight + depth.delayed === 0;
    const sent = enqueuedBins(record);
    const assumed = opts.allMissing || queueEmpty ? [] : candidates.filter((b) => sent.has(b));
    const assumedSet = new Set(assumed);
    const toSend = costliestFirst(manifest, candidates.filter((b) => !assumedSet.has(b)));
    const held = depth.visible + depth.inFlight + depth.delayed;
    const warning =
      assumed.length > held
        ? `the queue holds ${held} messages (of every run) but ${assumed.length} bins of this run are assumed queued: some were lost ` +
          `(retention period, a purge); \`resume --run ${run.uri} --all-missing\` sends every missing bin again`
        : undefined;

    let next: Submission = { ...record, state: "submitted", cancelledAt: undefined };
    if (toSend.length > 0) {
      await sendBins(clients.sqs, record.stack.queueUrl, run.uri, toSend);
      next = { ...next, enqueued: [...next.enqueued, { at: new Date().toISOString(), bins: formatRanges(toSend), count: toSend.length, by: "resume" }] };
    }
    const running = jobs.filter((j) => j.active).length;
    let job: ResumeResult["job"];
    // Workers drain the whole queue: a running job takes the new messages too.
    if (candidates.length > 0 && running === 0) {
      const size = Math.min(opts.workers ?? record.workers, candidates.length, MAX_WORKERS);
      job = await submitWorkers(clients.batch, record.stack, jobName(run.uri.slice(run.uri.lastIndexOf("/") + 1)), size);
      next = { ...next, jobs: [...next.jobs, job] };
    }
    await writeSubmission(run, next);
    return { sent: toSend.length, assumedQueued: assumed.length, deadLettered: dead, job, runningJobs: running, warning };
  } finally {
    if (own) {
      clients.sqs.destroy();
      clients.batch.destroy();
    }
  }
}

export function formatResume(r: ResumeResult, runUri: string): string {
  const parts = [`resume: ${r.sent} bins sent to the queue`];
  if (r.assumedQueued > 0) parts.push(`${r.assumedQueued} assumed still queued`);
  if (r.deadLettered.length > 0) parts.push(`${r.deadLettered.length} dead-lettered (bins ${formatRanges(r.deadLettered)}: nblast-fanout redrive --run ${runUri})`);
  let line = parts.join(", ");
  if (r.job !== undefined) line += `; job ${r.job.name} (${r.job.id}) of ${r.job.size} worker${r.job.size === 1 ? "" : "s"} submitted`;
  else if (r.runningJobs > 0) line += `; ${r.runningJobs} job${r.runningJobs === 1 ? " is" : "s are"} still running and will take them`;
  else if (r.sent === 0 && r.assumedQueued === 0) line += "; nothing left to run";
  if (r.warning !== undefined) line += `\nwarning: ${r.warning}`;
  return line;
}
