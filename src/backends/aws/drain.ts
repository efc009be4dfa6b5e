/**
 * The worker's queue loop, `nblast-fanout drain --queue URL`: what every Batch array child
 * runs. It takes one bin message at a time (long polling), scores the bin with the same
 * code as `worker --bin`, and deletes the message only once the bin's done marker is
 * written. So the array's size is the number of workers, not of bins, and:
 *
 * - a heartbeat extends the message's visibility while the bin runs, so a long bin is not
 *   handed to a second worker; a worker that dies (SIGKILL, a lost host) stops the
 *   heartbeat, and the bin is received again by another worker once its timeout passes;
 * - a bin whose done marker already holds is skipped and its message deleted (duplicates
 *   are harmless: deduplication is by done markers, not by SQS);
 * - a bin that throws is recorded in failed/K.json (by runBin) and its message left on the
 *   queue, to come back after `retryDelaySeconds`; after the queue's maxReceiveCount
 *   receives SQS moves it to the dead-letter queue (`redrive` brings it back);
 * - on the signal (SIGTERM: Spot's two-minute warning, a scale-in, `cancel`) the bin in
 *   progress is abandoned cleanly (nothing of it counts as done) and its message made
 *   visible again at once, for another worker;
 * - a message of a run that was cancelled (aws/submission.json says so) is deleted unrun;
 * - after `emptyReceives` long polls in a row find nothing, the queue is drained: return.
 */
import { hostname } from "node:os";
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from "@aws-sdk/client-sqs";
import { openStorage } from "../../storage/open.ts";
import type { Storage } from "../../storage/types.ts";
import { runBin } from "../../worker/run-bin.ts";
import { openWorkerSession, type WorkerSession } from "../../worker/session.ts";
import { parseBinMessage } from "./message.ts";
import { readSubmission } from "./submission.ts";

export interface DrainOptions {
  readonly queueUrl: string;
  readonly sqs: SQSClient;
  /** How a message's run URI becomes a Storage (default openStorage). */
  readonly openRun?: (uri: string) => Storage;
  /** How a manifest's cache URI becomes a Storage (default openStorage). */
  readonly openCacheStorage?: (uri: string) => Storage;
  /** Scoring threads (default: the container's CPU quota, else the machine). */
  readonly threads?: number;
  /** Where an S3 cache is copied once (default: the worker's default cache folder). */
  readonly cacheDir?: string;
  /** Long-poll wait of each receive, 0..20 s (default 20). */
  readonly waitSeconds?: number;
  /** Visibility of a received message, renewed by the heartbeat (default 300 s). */
  readonly visibilitySeconds?: number;
  /** Seconds between heartbeats (default 100; well under visibilitySeconds). */
  readonly heartbeatSeconds?: number;
  /** Empty receives in a row after which the queue counts as drained (default 2). */
  readonly emptyReceives?: number;
  /** A failed bin's message comes back after this many seconds (default 60). */
  readonly retryDelaySeconds?: number;
  /** Stop: the bin in progress is abandoned and its message made visible at once. */
  readonly signal?: AbortSignal;
  /** One line per event (default: stderr). */
  readonly log?: (line: string) => void;
}

export interface DrainSummary {
  readonly received: number;
  readonly done: number;
  readonly skipped: number;
  readonly failed: number;
  /** Messages of cancelled runs, deleted unrun. */
  readonly cancelled: number;
  /** Messages that are not bin messages, left for the dead-letter queue. */
  readonly malformed: number;
  /** Stopped by the signal (the current message, if any, made visible again). */
  readonly stopped: boolean;
  /** vCPU-seconds of the bins computed here (threads x seconds). */
  readonly vcpuSeconds: number;
  readonly seconds: number;
}

export async function drain(opts: DrainOptions): Promise<DrainSummary> {
  const started = performance.now();
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const waitSeconds = opts.waitSeconds ?? 20;
  const visibility = opts.visibilitySeconds ?? 300;
  const heartbeatMs = (opts.heartbeatSeconds ?? 100) * 1000;
  const emptyLimit = opts.emptyReceives ?? 2;
  const retryDelay = opts.retryDelaySeconds ?? 60;
  const openRun = opts.openRun ?? ((uri: string) => openStorage(uri));
  const { sqs, queueUrl, signal } = opts;
  const counts = { received: 0, done: 0, skipped: 0, failed: 0, cancelled: 0, malformed: 0, vcpuSeconds: 0 };
  let stopped = false;
  let current: { uri: string; session: WorkerSession } | undefined;

  const setVisibility = async (m: Message, seconds: number): Promise<void> => {
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: seconds }));
  };
  const remove = (m: Message): Promise<unknown> => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));

  /** One process keeps one run's manifest, cache copy and threads while its bins keep coming. */
  const sessionFor = async (uri: string, run: Storage): Promise<WorkerSession> => {
    if (current?.uri === uri) return current.session;
    const previous = current;
    current = undefined;
    await previous?.session.close();
    const session = await openWorkerSession({ run, threads: opts.threads, cacheDir: opts.cacheDir, openCacheStorage: opts.openCacheStorage });
    current = { uri, session };
    return session;
  };

  try {
    let empty = 0;
    while (!signal?.aborted) {
      let messages: Message[];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 1, // one bin at a time, on every thread
            WaitTimeSeconds: waitSeconds,
            VisibilityTimeout: visibility,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (signal?.aborted) break;
        throw err;
      }
      if (messages.length === 0) {
        if (++empty >= emptyLimit) break;
        continue;
      }
      empty = 0;
      const m = messages[0];
      counts.received++;
      if (signal?.aborted) {
        await setVisibility(m, 0);
        break;
      }
      const parsed = parseBinMessage(m.Body);
      let run: Storage | undefined;
      try {
        if (parsed.ok) run = openRun(parsed.message.run);
      } catch {
        run = undefined;
      }
      if (!parsed.ok || run === undefined) {
        // Not ours, or damaged: leave it to come back until SQS moves it to the dead-letter queue.
        counts.malformed++;
        log(`drain: message ${m.MessageId} is not a bin message (${parsed.ok ? "its run is not a storage URI" : parsed.reason}); left for the dead-letter queue`);
        continue;
      }
      const { bin } = parsed.message;
      const label = `bin ${bin} of ${parsed.message.run}`;
      const receives = Number(m.Attributes?.ApproximateReceiveCount ?? 1);

      if ((await readSubmission(run).catch(() => undefined))?.state === "cancelled") {
        await remove(m);
        counts.cancelled++;
        log(`drain: ${label}: the run was cancelled; message deleted`);
        continue;
      }

      const heartbeat = setInterval(() => {
        setVisibility(m, visibility).catch((err: unknown) => {
          // The message came back to the queue (our timeout lapsed) or was deleted: another
          // worker may now run the bin too, which the done markers make harmless.
          log(`drain: ${label}: heartbeat failed (${(err as Error).message})`);
        });
      }, heartbeatMs);
      try {
        const session = await sessionFor(parsed.message.run, run);
        let phase = "";
        const outcome = await runBin({
          run,
          bin,
          session,
          signal,
          onProgress: (p) => {
            if (p.phase === phase) return;
            phase = p.phase;
            if (p.phase === "scoring") log(`drain: ${label}: scoring (${p.pairsTotal} pairs, receive ${receives})`);
          },
        });
        clearInterval(heartbeat);
        // The marker is written (or was there): only now may the message go.
        await remove(m);
        const mk = outcome.marker;
        if (outcome.status === "skipped") {
          counts.skipped++;
          log(`drain: ${label}: skipped, already done; message deleted`);
        } else {
          counts.done++;
          counts.vcpuSeconds += mk.threads * mk.timings.total;
          log(`drain: ${label}: done, ${mk.pairs} pairs, ${mk.shard.rows} rows in ${mk.timings.total.toFixed(1)} s on ${mk.threads} threads`);
        }
      } catch (err) {
        clearInterval(heartbeat);
        if (signal?.aborted) {
          await setVisibility(m, 0);
          log(`drain: ${label}: stopped; its message is visible again for another worker`);
          break;
        }
        counts.failed++;
        log(`drain: ${label}: failed on ${hostname()} (receive ${receives}): ${(err as Error).message}; it comes back in ${retryDelay} s`);
        await setVisibility(m, retryDelay).catch(() => {});
      }
    }
    stopped = signal?.aborted === true;
  } finally {
    await current?.session.close();
  }
  return { ...counts, stopped, seconds: (performance.now() - started) / 1000 };
}

export function formatDrainSummary(s: DrainSummary): string {
  const how = s.stopped ? "stopped by a signal" : "queue empty";
  return (
    `drain: ${how}: ${s.done} bins done, ${s.skipped} skipped, ${s.failed} failed` +
    (s.cancelled > 0 ? `, ${s.cancelled} of cancelled runs deleted` : "") +
    (s.malformed > 0 ? `, ${s.malformed} messages not ours` : "") +
    ` in ${s.seconds.toFixed(1)} s (${(s.vcpuSeconds / 3600).toFixed(3)} vCPU-hours of bins)`
  );
}
