/**
 * `cancel --run` for an AWS run: the record is marked cancelled first (from then on, any
 * worker that receives one of this run's messages deletes it unrun), the run's jobs are
 * terminated (Batch sends SIGTERM: a worker releases its bin at once and exits), and the
 * run's messages are removed from the bin queue and the dead-letter queue.
 *
 * The queue is shared by runs, so nothing is purged: every visible message is received
 * once; this run's are deleted; other runs' are sent again as new messages (delayed two
 * minutes) and their originals deleted, so that no receive is counted against them toward
 * the dead-letter queue. Messages in flight cannot be received; those of this run come
 * back when their worker stops and are deleted by whichever worker receives them.
 * Bins already done stay done: `resume --run` starts the run again where it stood.
 */
import { DeleteMessageCommand } from "@aws-sdk/client-sqs";
import { InputError } from "../../nblast/errors.ts";
import type { Storage } from "../../storage/types.ts";
import { createAwsClients, type AwsClients } from "./clients.ts";
import { terminateJobs } from "./jobs.ts";
import { sweepQueue } from "./queue.ts";
import { readSubmission, writeSubmission } from "./submission.ts";

export interface CancelResult {
  readonly jobs: number;
  readonly removed: number;
  readonly removedDeadLetters: number;
}

export async function cancelAws(run: Storage, opts: { clients?: AwsClients } = {}): Promise<CancelResult> {
  const record = await readSubmission(run);
  if (record === undefined) throw new InputError(`${run.uri} was never submitted to AWS`);
  const own = opts.clients === undefined;
  const clients = opts.clients ?? createAwsClients(record.stack.region);
  try {
    const now = new Date().toISOString();
    await writeSubmission(run, { ...record, state: "cancelled", cancelledAt: now });
    const jobs = await terminateJobs(clients.batch, record.jobs, `cancelled by nblast-fanout cancel at ${now}`);
    const remover = (queueUrl: string) => async (_m: unknown, raw: { ReceiptHandle?: string }) => {
      await clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: raw.ReceiptHandle! }));
      return true;
    };
    const main = await sweepQueue(clients.sqs, record.stack.queueUrl, { run: record.run, others: "requeue", take: remover(record.stack.queueUrl) });
    const dead = await sweepQueue(clients.sqs, record.stack.deadLetterQueueUrl, {
      run: record.run,
      others: "hold",
      take: remover(record.stack.deadLetterQueueUrl),
    });
    return { jobs, removed: main.taken.length, removedDeadLetters: dead.taken.length };
  } finally {
    if (own) {
      clients.sqs.destroy();
      clients.batch.destroy();
    }
  }
}

export function formatCancel(r: CancelResult, runUri: string): string {
  return (
    `cancel: ${r.jobs} job${r.jobs === 1 ? "" : "s"} terminated, ${r.removed} queued and ${r.removedDeadLetters} dead-lettered messages of this run removed; ` +
    `bins done stay done (nblast-fanout resume --run ${runUri} starts again)`
  );
}
