/**
 * What `status --run` adds for a run submitted to AWS: the queue's depth, the run's
 * dead-lettered bins, the array's children by state, throughput and ETA, and what the
 * computation cost so far and will cost in all.
 *
 * Cost is from the done markers: each bin held `threads` vCPUs (the container's quota) for
 * its wall time, so vCPU-seconds = threads x seconds, priced at a price per vCPU-hour. The
 * default is an assumption (a typical Spot price of compute-optimised instances in
 * us-east-1) and is printed as one; pass the price you pay. It leaves out what no marker
 * records: container start-up, the cache download, idle polling at the end, failed
 * attempts, S3, SQS and Lambda (small beside compute for any run worth sending to AWS).
 */
import type { Storage } from "../../storage/types.ts";
import type { BinStatus } from "../../worker/markers.ts";
import { createAwsClients, type AwsClients } from "./clients.ts";
import { describeJobs, formatChildren, type JobView } from "./jobs.ts";
import { queueDepth, sweepQueue, type QueueDepth } from "./queue.ts";
import { formatRanges, readSubmission, type Submission } from "./submission.ts";

/** USD per vCPU-hour when the user names none: about what Spot c6i/c7i/m6i capacity costs (2025), an assumption. */
export const DEFAULT_VCPU_HOUR_PRICE = 0.015;

export interface AwsStatus {
  readonly state: Submission["state"];
  readonly submittedBy: Submission["by"];
  readonly createdAt: string;
  readonly workers: number;
  /** Depth of the queue shared by every run of the stack (not of this run alone). */
  readonly queue: QueueDepth;
  readonly deadLetterQueue: QueueDepth;
  /**
   * This run's bins now in the dead-letter queue (seen by receiving and releasing them);
   * null when not looked at (the status Lambda may only read queue attributes).
   */
  readonly deadLetteredBins: number[] | null;
  readonly jobs: readonly JobView[];
  readonly throughput: { readonly binsPerHour: number; readonly pairsPerSecond: number; readonly windowSeconds: number } | undefined;
  /** Seconds left at the rate so far (by the plan's bin costs), when it can be told. */
  readonly etaSeconds: number | undefined;
  readonly cost: {
    readonly vcpuHourPrice: number;
    readonly priceAssumed: boolean;
    readonly vcpuHours: number;
    readonly usd: number;
    readonly projectedVcpuHours: number | undefined;
    readonly projectedUsd: number | undefined;
  };
}

export interface AwsStatusOptions {
  readonly vcpuHourPrice?: number;
  readonly clients?: AwsClients;
  /**
   * Look into the dead-letter queue for this run's bins (default true; see peekDeadLetters).
   * It needs sqs:ReceiveMessage and sqs:ChangeMessageVisibility on that queue.
   */
  readonly peekDeadLetters?: boolean;
}

export async function awsStatus(run: Storage, bins: BinStatus, opts: AwsStatusOptions = {}): Promise<AwsStatus> {
  const record = await readSubmission(run);
  if (record === undefined) throw new Error(`${run.uri} has no AWS submission record`);
  const own = opts.clients === undefined;
  const clients = opts.clients ?? createAwsClients(record.stack.region);
  try {
    const [queue, deadLetterQueue, jobs] = await Promise.all([
      queueDepth(clients.sqs, record.stack.queueUrl),
      queueDepth(clients.sqs, record.stack.deadLetterQueueUrl),
      describeJobs(clients.batch, record.jobs),
    ]);
    const peek = opts.peekDeadLetters ?? true;
    const deadLetteredBins = !peek ? null : deadLetterQueue.visible > 0 ? await peekDeadLetters(clients, record) : [];
    const t = bins.totals;
    const price = opts.vcpuHourPrice ?? DEFAULT_VCPU_HOUR_PRICE;
    let throughput: AwsStatus["throughput"];
    let etaSeconds: number | undefined;
    if (t.firstStarted !== undefined && t.lastFinished !== undefined && t.lastFinished > t.firstStarted) {
      // The window from the first bin's start to now while workers run, else to the last finish.
      const running = jobs.some((j) => j.active);
      const end = running ? Math.max(Date.now(), t.lastFinished) : t.lastFinished;
      const windowSeconds = (end - t.firstStarted) / 1000;
      throughput = { binsPerHour: (bins.counts.done / windowSeconds) * 3600, pairsPerSecond: t.pairs / windowSeconds, windowSeconds };
      const costLeft = t.planCostTotal - t.planCost;
      if (costLeft <= 0) etaSeconds = 0;
      else if (running && t.planCost > 0) etaSeconds = costLeft / (t.planCost / windowSeconds);
    } else if (bins.counts.pending + bins.counts.failed === 0) etaSeconds = 0;
    const vcpuHours = t.vcpuSeconds / 3600;
    const projectedVcpuHours = t.planCost > 0 ? vcpuHours * (t.planCostTotal / t.planCost) : undefined;
    return {
      state: record.state,
      submittedBy: record.by,
      createdAt: record.createdAt,
      workers: record.workers,
      queue,
      deadLetterQueue,
      deadLetteredBins,
      jobs,
      throughput,
      etaSeconds,
      cost: {
        vcpuHourPrice: price,
        priceAssumed: opts.vcpuHourPrice === undefined,
        vcpuHours,
        usd: vcpuHours * price,
        projectedVcpuHours,
        projectedUsd: projectedVcpuHours === undefined ? undefined : projectedVcpuHours * price,
      },
    };
  } finally {
    if (own) {
      clients.sqs.destroy();
      clients.batch.destroy();
    }
  }
}

/**
 * This run's bins in the dead-letter queue. SQS cannot peek: every visible message there is
 * received once (hidden for 30 s) and made visible again at the end. Nothing consumes a
 * dead-letter queue, so the receive counted against each message does no harm; a redrive
 * running at the same moment may miss the few it hides.
 */
export async function peekDeadLetters(clients: AwsClients, record: Submission): Promise<number[]> {
  const seen = await sweepQueue(clients.sqs, record.stack.deadLetterQueueUrl, {
    run: record.run,
    take: async () => false,
    others: "hold",
    holdSeconds: 30,
  });
  return [...new Set(seen.mine.map((m) => m.bin))].sort((a, b) => a - b);
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

function usd(x: number): string {
  return x < 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`;
}

export function formatAwsStatus(s: AwsStatus, bins: BinStatus, runUri: string): string[] {
  const out: string[] = [];
  out.push(`aws: ${s.state} (by the ${s.submittedBy === "cli" ? "CLI" : "start Lambda"} at ${s.createdAt}), ${s.workers} workers asked`);
  const q = s.queue;
  out.push(
    `  queue (shared by every run): ${q.visible} waiting, ${q.inFlight} in flight, ${q.delayed} delayed; ` +
      `dead-letter queue: ${s.deadLetterQueue.visible + s.deadLetterQueue.inFlight}`,
  );
  if (s.deadLetteredBins !== null && s.deadLetteredBins.length > 0) {
    out.push(`  dead-lettered bins of this run: ${formatRanges(s.deadLetteredBins)} (retry them with: nblast-fanout redrive --run ${runUri})`);
  }
  for (const j of s.jobs) {
    out.push(`  job ${j.name} (${j.id}), ${j.size} worker${j.size === 1 ? "" : "s"}: ${j.status.toLowerCase()}; ${formatChildren(j.children)}`);
  }
  const notDone = bins.counts.pending + bins.counts.failed;
  if (notDone === 0) out.push(`  every bin is done`);
  else if (s.state === "cancelled") out.push(`  cancelled: ${notDone} bins not done (nblast-fanout resume --run ${runUri} starts again)`);
  else if (!s.jobs.some((j) => j.active)) {
    out.push(`  no worker is running and ${notDone} bins are not done: nblast-fanout resume --run ${runUri}`);
  }
  if (s.throughput !== undefined) {
    const t = s.throughput;
    out.push(
      `  throughput: ${t.binsPerHour.toFixed(t.binsPerHour < 10 ? 2 : 0)} bins/h, ${Math.round(t.pairsPerSecond)} pairs/s over ${duration(t.windowSeconds)}` +
        (s.etaSeconds !== undefined && notDone > 0 ? `; about ${duration(s.etaSeconds)} to go at this rate` : ""),
    );
  }
  const c = s.cost;
  const price = `$${c.vcpuHourPrice} per vCPU-hour${c.priceAssumed ? " (an assumed Spot price; set --vcpu-hour-price)" : ""}`;
  out.push(
    `  compute: ${c.vcpuHours.toFixed(3)} vCPU-hours so far, ${usd(c.usd)}` +
      (c.projectedVcpuHours !== undefined && notDone > 0 ? `; about ${c.projectedVcpuHours.toFixed(3)} vCPU-hours, ${usd(c.projectedUsd!)} for the whole run` : "") +
      ` at ${price}`,
  );
  return out;
}
