/**
 * What the AWS backend does with SQS besides draining: send a run's bins (in batches of
 * ten, the costliest first), read a queue's depth, and sweep a queue for one run's
 * messages (redrive, cancel, and naming the dead-lettered bins in `status`).
 *
 * SQS cannot list or peek at messages: the only way to see one is to receive it, which
 * hides it for a while and counts one receive against it. A sweep therefore receives every
 * visible message once and treats the ones of other runs with care (see sweepQueue).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { mapLimit } from "../../results/map-limit.ts";
import { binMessageBody, parseBinMessage, type BinMessage } from "./message.ts";

/** SQS's most entries per batch call. */
const BATCH = 10;

export interface QueueDepth {
  /** Messages ready to be received. */
  readonly visible: number;
  /** Received and not yet deleted: bins being worked on (or whose worker died, until their timeout). */
  readonly inFlight: number;
  readonly delayed: number;
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"],
    }),
  );
  const a = out.Attributes ?? {};
  const n = (k: string): number => Number(a[k as keyof typeof a] ?? 0) || 0;
  return {
    visible: n("ApproximateNumberOfMessages"),
    inFlight: n("ApproximateNumberOfMessagesNotVisible"),
    delayed: n("ApproximateNumberOfMessagesDelayed"),
  };
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string | undefined> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }));
  return out.Attributes?.QueueArn;
}

/**
 * Sends one message per bin, in the order given (callers put the costliest first, so the
 * longest bins start first and the run's tail is short). Entries SQS refuses are sent
 * again a few times; resolves once every bin is on the queue, else throws naming them.
 */
export async function sendBins(
  sqs: SQSClient,
  queueUrl: string,
  run: string,
  bins: readonly number[],
  opts: { concurrency?: number; delaySeconds?: number } = {},
): Promise<number> {
  const batches: number[][] = [];
  for (let i = 0; i < bins.length; i += BATCH) batches.push(bins.slice(i, i + BATCH));
  // A few batches in flight at once keep the order roughly costliest first.
  await mapLimit(batches, opts.concurrency ?? 8, async (batch) => {
    // Entry ids by position: a batch may hold one bin twice (duplicates are harmless).
    let todo = batch;
    for (let attempt = 0; todo.length > 0; attempt++) {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: todo.map((bin, j) => ({ Id: `e${j}`, MessageBody: binMessageBody(run, bin), DelaySeconds: opts.delaySeconds })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      const next = todo.filter((_, j) => failed.has(`e${j}`));
      if (next.length > 0 && attempt >= 4) {
        const why = (out.Failed ?? []).map((f) => `${f.Code ?? ""} ${f.Message ?? ""}`.trim()).join("; ");
        throw new Error(`SQS refused to queue bins ${next.join(", ")} of ${run} five times (${why})`);
      }
      if (next.length > 0) await sleep(100 * 2 ** attempt);
      todo = next;
    }
  });
  return bins.length;
}

export interface SweepResult {
  /** This run's messages seen (a bin queued twice appears twice). */
  readonly mine: BinMessage[];
  /** Those of them `take` handled. */
  readonly taken: BinMessage[];
  /** Messages of other runs (or not ours at all) seen and put back. */
  readonly others: number;
}

export interface SweepOptions {
  /** The run whose messages are taken. */
  readonly run: string;
  /**
   * What to do with each of the run's messages, received: e.g. delete it (cancel), or send
   * it to the main queue and then delete it (redrive). Return true once it is handled; a
   * false leaves it to be put back with the others.
   */
  readonly take: (message: BinMessage, raw: Message) => Promise<boolean>;
  /**
   * Messages of other runs: "hold" keeps them hidden until the sweep ends, then makes them
   * visible again (one receive is counted against each: right for a dead-letter queue,
   * whose messages go nowhere on a count). "requeue" sends each as a new message delayed by
   * `requeueDelaySeconds` and deletes the original, so no receive is counted against
   * another run's bins on the main queue (their count toward the DLQ starts again).
   */
  readonly others: "hold" | "requeue";
  /** Seconds a held message stays hidden; longer than the sweep takes (default 300). */
  readonly holdSeconds?: number;
  /** Delay of a requeued message, long enough to stay out of this sweep (default 120, at most 900). */
  readonly requeueDelaySeconds?: number;
  /** Stop after this many messages received (default 100,000). */
  readonly maxMessages?: number;
}

/**
 * Receives every visible message of a queue once; hands this run's to `take`, and deals
 * with the rest as `others` says. Stops at the first empty receive. Messages in flight
 * (received by a worker) are not seen: SQS returns only visible ones.
 */
export async function sweepQueue(sqs: SQSClient, queueUrl: string, opts: SweepOptions): Promise<SweepResult> {
  const holdSeconds = opts.holdSeconds ?? 300;
  const max = opts.maxMessages ?? 100_000;
  const taken: BinMessage[] = [];
  const seenMine: BinMessage[] = [];
  const held: Message[] = [];
  const seen = new Set<string>();
  let others = 0;
  try {
    for (let received = 0; received < max; ) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: BATCH,
          WaitTimeSeconds: 1,
          VisibilityTimeout: holdSeconds,
        }),
      );
      const messages = (out.Messages ?? []).filter((m) => m.MessageId !== undefined && !seen.has(m.MessageId));
      if (messages.length === 0) break;
      received += messages.length;
      const mine: [BinMessage, Message][] = [];
      const rest: Message[] = [];
      for (const m of messages) {
        seen.add(m.MessageId!);
        const parsed = parseBinMessage(m.Body);
        if (parsed.ok && parsed.message.run === opts.run) mine.push([parsed.message, m]);
        else rest.push(m);
      }
      for (const [message, raw] of mine) {
        seenMine.push(message);
        if (await opts.take(message, raw)) taken.push(message);
        else rest.push(raw);
      }
      others += rest.length;
      if (opts.others === "hold") held.push(...rest);
      else await requeue(sqs, queueUrl, rest, Math.min(900, opts.requeueDelaySeconds ?? 120));
    }
  } finally {
    await release(sqs, queueUrl, held);
  }
  return { mine: seenMine, taken, others };
}

/** Makes received messages visible again at once. */
export async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += BATCH) {
    const part = messages.slice(i, i + BATCH);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: part.map((m, j) => ({ Id: `m${j}`, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
}

export async function deleteMessages(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += BATCH) {
    const part = messages.slice(i, i + BATCH);
    await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: part.map((m, j) => ({ Id: `m${j}`, ReceiptHandle: m.ReceiptHandle! })) }),
    );
  }
}

/** A copy of each message (delayed), then the original deleted: no receive counted against it. */
async function requeue(sqs: SQSClient, queueUrl: string, messages: readonly Message[], delaySeconds: number): Promise<void> {
  for (let i = 0; i < messages.length; i += BATCH) {
    const part = messages.slice(i, i + BATCH);
    const out = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: part.map((m, j) => ({ Id: `m${j}`, MessageBody: m.Body ?? "", DelaySeconds: delaySeconds })),
      }),
    );
    const failed = new Set((out.Failed ?? []).map((f) => f.Id));
    // A copy that could not be sent keeps its original (made visible again): never lose a message.
    const sent = part.filter((_, j) => !failed.has(`m${j}`));
    await deleteMessages(sqs, queueUrl, sent);
    await release(sqs, queueUrl, part.filter((_, j) => failed.has(`m${j}`)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
