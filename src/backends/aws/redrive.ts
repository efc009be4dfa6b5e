/**
 * `redrive --run`: this run's bins in the dead-letter queue go back to the bin queue (a
 * new message each, so SQS counts their receives from zero), and workers are started if
 * none is running. The dead-letter queue is shared by every run: other runs' messages are
 * received, held and made visible again, untouched.
 *
 * SQS's own StartMessageMoveTask moves every message of a dead-letter queue, of every run,
 * and neither moto nor fauxqs implements it; a per-run redrive cannot use it, so this is
 * receive, send, then delete (a crash between the last two leaves a duplicate, which the
 * done markers make harmless, never a lost bin).
 */
import { DeleteMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { InputError } from "../../nblast/errors.ts";
import type { Storage } from "../../storage/types.ts";
import { createAwsClients, type AwsClients } from "./clients.ts";
import { describeJobs, jobName, MAX_WORKERS, submitWorkers } from "./jobs.ts";
import { binMessageBody } from "./message.ts";
import { sweepQueue } from "./queue.ts";
import { formatRanges, readSubmission, writeSubmission, type Submission } from "./submission.ts";

export interface RedriveResult {
  readonly bins: number[];
  readonly job: Submission["jobs"][number] | undefined;
  readonly runningJobs: number;
}

export async function redriveAws(run: Storage, opts: { clients?: AwsClients; workers?: number } = {}): Promise<RedriveResult> {
  const record = await readSubmission(run);
  if (record === undefined) throw new InputError(`${run.uri} was never submitted to AWS: it has no dead-lettered bins`);
  const own = opts.clients === undefined;
  const clients = opts.clients ?? createAwsClients(record.stack.region);
  const { queueUrl, deadLetterQueueUrl } = record.stack;
  try {
    const swept = await sweepQueue(clients.sqs, deadLetterQueueUrl, {
      run: record.run,
      others: "hold",
      take: async (m, raw) => {
        await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: binMessageBody(m.run, m.bin) }));
        await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: deadLetterQueueUrl, ReceiptHandle: raw.ReceiptHandle! }));
        return true;
      },
    });
    const bins = [...new Set(swept.taken.map((m) => m.bin))].sort((a, b) => a - b);
    let next: Submission = record;
    let job: RedriveResult["job"];
    let running = 0;
    if (bins.length > 0) {
      next = { ...next, enqueued: [...next.enqueued, { at: new Date().toISOString(), bins: formatRanges(bins), count: swept.taken.length, by: "redrive" }] };
      running = (await describeJobs(clients.batch, record.jobs)).filter((j) => j.active).length;
      if (running === 0 && record.state !== "cancelled") {
        const size = Math.min(opts.workers ?? record.workers, bins.length, MAX_WORKERS);
        job = await submitWorkers(clients.batch, record.stack, jobName(run.uri.slice(run.uri.lastIndexOf("/") + 1)), size);
        next = { ...next, jobs: [...next.jobs, job] };
      }
      await writeSubmission(run, next);
    }
    return { bins, job, runningJobs: running };
  } finally {
    if (own) {
      clients.sqs.destroy();
      clients.batch.destroy();
    }
  }
}

export function formatRedrive(r: RedriveResult): string {
  if (r.bins.length === 0) return "redrive: no bin of this run is in the dead-letter queue";
  let line = `redrive: bins ${formatRanges(r.bins)} moved back to the queue`;
  if (r.job !== undefined) line += `; job ${r.job.name} (${r.job.id}) of ${r.job.size} worker${r.job.size === 1 ? "" : "s"} submitted`;
  else if (r.runningJobs > 0) line += `; running workers will take them`;
  return line;
}
