/**
 * The local engine: every bin of a planned run on this machine, one bin after another, each
 * on all threads of one shared pool (`nblast-fanout run --local`). Bins already done are
 * skipped; a bin that fails is recorded and the others still run; an AbortSignal (Ctrl-C)
 * stops the bin in progress within about one pair's scoring, leaving no marker for it.
 */
import { binPairCount } from "../../worker/bin-job.ts";
import { binWork } from "../../plan/work.ts";
import { checkDone, doneKey } from "../../worker/markers.ts";
import { claimBin } from "../../worker/claims.ts";
import type { LeaseHolder } from "../../storage/lease-file.ts";
import { runBin, type BinPhase } from "../../worker/run-bin.ts";
import { openWorkerSession, type WorkerSessionOptions } from "../../worker/session.ts";

export interface LocalProgress {
  readonly binsTotal: number;
  /** Bins finished in this call: done, skipped or failed. */
  readonly binsFinished: number;
  readonly binsDone: number;
  readonly binsSkipped: number;
  readonly binsFailed: number;
  /** The bin being worked on, if any, and its phase. */
  readonly bin: number | undefined;
  readonly phase: BinPhase | undefined;
  /** Pairs of the plan scored in this call (upper layout: unordered pairs). */
  readonly pairsScored: number;
  /** Pairs of the bins that were not already done when the call started. */
  readonly pairsToScore: number;
  readonly pairsPerSecond: number;
  /** Estimated seconds left (from the plan's bin costs); undefined until something is scored. */
  readonly etaSeconds: number | undefined;
  readonly elapsed: number;
}

export interface LocalRunOptions extends WorkerSessionOptions {
  signal?: AbortSignal;
  onProgress?: (p: LocalProgress) => void;
  /** Milliseconds between progress calls while a bin is scoring (default 500). */
  progressMs?: number;
  /** Only these bins (default every bin of the run). */
  bins?: readonly number[];
  /**
   * Claim each bin before computing it (claims/K.json, see worker/claims.ts), so several
   * processes on one run share its bins (default true). A bin another live process holds is
   * left to it and waited for at the end; a gone holder's bin is taken over.
   */
  claims?: boolean;
  /** Milliseconds between looks at bins other processes hold (default 500). */
  pollMs?: number;
  /** Told once per bin when another process holds it. */
  onWaiting?: (bin: number, holder: LeaseHolder) => void;
  /** Skip pairs proven below the run's minScore (default true; see src/nblast/prune.ts). */
  prune?: boolean;
}

export interface BinFailure {
  readonly bin: number;
  readonly message: string;
  readonly error: Error;
}

export interface LocalRunSummary {
  readonly bins: number;
  /** Bins computed in this call. */
  readonly done: number;
  /** Bins already done before (their marker and shard held). */
  readonly skipped: number;
  /** Bins another process (another `run` or `worker` on this run) computed meanwhile. */
  readonly byOthers: number;
  readonly failed: BinFailure[];
  /** Stopped by the signal; bins not reached are neither done nor failed. */
  readonly aborted: boolean;
  readonly pairsScored: number;
  /** Of pairsScored, those proven below minScore and never searched. */
  readonly pairsPruned: number;
  /** Nearest-neighbour queries made by the bins computed here. */
  readonly searches: number;
  /** Rows written to shards in this call. */
  readonly rowsStored: number;
  readonly seconds: number;
  readonly pairsPerSecond: number;
  readonly threads: number;
}

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunSummary> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const session = await openWorkerSession(opts);
  try {
    const manifest = session.manifest;
    const nBins = manifest.work.bins.length;
    const bins = opts.bins ?? Array.from({ length: nBins }, (_, i) => i);
    for (const b of bins) binWork(manifest, b); // InputError for a bin the run does not have

    // Bins with a marker are probably done (runBin checks each properly): leave them out of the ETA.
    const marked = new Set(await opts.run.list("done/"));
    const pairsOf = new Map<number, number>();
    let pairsToScore = 0;
    let costToScore = 0;
    for (const b of bins) {
      if (marked.has(doneKey(b))) continue;
      const p = binPairCount(binWork(manifest, b));
      pairsOf.set(b, p);
      pairsToScore += p;
      costToScore += manifest.work.bins[b].cost;
    }
    // A cache that cannot be used fails the whole run once, not every bin.
    if (pairsOf.size > 0) await session.cache();

    let done = 0;
    let skipped = 0;
    let pairsScored = 0;
    let pairsPruned = 0;
    let searches = 0;
    let rowsStored = 0;
    let costDone = 0;
    let aborted = false;
    const failed: BinFailure[] = [];
    const report = (bin: number | undefined, phase: BinPhase | undefined, binPairs: number, binFraction: number, binCost: number): void => {
      if (!opts.onProgress) return;
      const t = elapsed();
      const scored = pairsScored + binPairs;
      const costSoFar = costDone + binFraction * binCost;
      opts.onProgress({
        binsTotal: bins.length,
        binsFinished: done + skipped + failed.length,
        binsDone: done,
        binsSkipped: skipped,
        binsFailed: failed.length,
        bin,
        phase,
        pairsScored: scored,
        pairsToScore,
        pairsPerSecond: t > 0 ? scored / t : 0,
        etaSeconds: costSoFar > 0 && costToScore > 0 ? (t * Math.max(0, costToScore - costSoFar)) / costSoFar : undefined,
        elapsed: t,
      });
    };

    const useClaims = opts.claims ?? true;
    let byOthers = 0;
    const computeBin = async (bin: number): Promise<boolean> => {
      const cost = pairsOf.has(bin) ? manifest.work.bins[bin].cost : 0;
      try {
        const outcome = await runBin({
          run: opts.run,
          bin,
          session,
          signal: opts.signal,
          progressMs: opts.progressMs,
          prune: opts.prune,
          onProgress: (p) => report(bin, p.phase, p.pairsDone, p.pairsTotal > 0 ? p.pairsDone / p.pairsTotal : 0, cost),
        });
        if (outcome.status === "skipped") {
          skipped++;
          // It was counted as work to do when its marker appeared after the listing.
          if (pairsOf.has(bin)) {
            pairsToScore -= pairsOf.get(bin)!;
            costToScore -= cost;
          }
        } else {
          done++;
          pairsScored += outcome.marker.pairs;
          pairsPruned += outcome.marker.pruned ?? 0;
          searches += outcome.marker.searches ?? 0;
          rowsStored += outcome.marker.shard.rows;
          costDone += cost;
        }
      } catch (err) {
        if (opts.signal?.aborted) {
          aborted = true;
          return false;
        }
        const error = err instanceof Error ? err : new Error(String(err));
        failed.push({ bin, message: error.message, error });
        costDone += cost;
      }
      report(undefined, undefined, 0, 0, 0);
      return true;
    };
    /** "ran": this process computed (or skipped, or failed) it; "held": a live process has it. */
    const tryBin = async (bin: number): Promise<"ran" | "held" | "aborted"> => {
      if (!useClaims) return (await computeBin(bin)) ? "ran" : "aborted";
      const claim = await claimBin(opts.run, bin, "run");
      if (claim.lease === undefined) {
        opts.onWaiting?.(bin, claim.holder);
        return "held";
      }
      try {
        return (await computeBin(bin)) ? "ran" : "aborted";
      } finally {
        await claim.lease.release().catch(() => {});
      }
    };

    const held: number[] = [];
    for (const bin of bins) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      const r = await tryBin(bin);
      if (r === "aborted") break;
      if (r === "held") held.push(bin);
    }
    // Bins other processes hold: wait for their done markers, or take them over if their holder goes.
    while (!aborted && held.length > 0) {
      await sleep(opts.pollMs ?? 500, opts.signal);
      for (let i = 0; i < held.length && !aborted; ) {
        if (opts.signal?.aborted) {
          aborted = true;
          break;
        }
        const bin = held[i];
        if ((await checkDone(opts.run, manifest, bin, "size")).state === "done") {
          byOthers++;
          if (pairsOf.has(bin)) {
            pairsToScore -= pairsOf.get(bin)!;
            costToScore -= manifest.work.bins[bin].cost;
          }
          held.splice(i, 1);
          report(undefined, undefined, 0, 0, 0);
          continue;
        }
        const claim = await claimBin(opts.run, bin, "run");
        if (claim.lease === undefined) {
          i++;
          continue;
        }
        held.splice(i, 1);
        try {
          if (!(await computeBin(bin))) break;
        } finally {
          await claim.lease.release().catch(() => {});
        }
      }
      if (opts.signal?.aborted) aborted = true;
    }
    const seconds = elapsed();
    return {
      bins: bins.length,
      done,
      skipped,
      byOthers,
      failed,
      aborted,
      pairsScored,
      pairsPruned,
      searches,
      rowsStored,
      seconds,
      pairsPerSecond: seconds > 0 ? pairsScored / seconds : 0,
      threads: session.threads,
    };
  } finally {
    await session.close();
  }
}

/** One line for the end of a local run, e.g. for the CLI. */
export function formatLocalSummary(s: LocalRunSummary): string {
  const parts = [
    `${s.done} bins computed`,
    `${s.skipped} skipped (already done)`,
    `${s.failed.length} failed`,
    ...(s.byOthers > 0 ? [`${s.byOthers} computed by other processes`] : []),
    `${s.pairsScored} pairs scored`,
    `${s.pairsPruned} of them pruned (proven below --min-score)`,
    `${s.searches.toLocaleString("en-US")} nearest-neighbour queries`,
    `${s.rowsStored} rows stored`,
    `${s.seconds.toFixed(1)} s`,
    `${Math.round(s.pairsPerSecond)} pairs/s on ${s.threads} threads`,
  ];
  let text = `${s.aborted ? "interrupted" : "finished"}: ${parts.join(", ")}`;
  for (const f of s.failed) text += `\n  ${f.message.startsWith(`bin ${f.bin}:`) ? f.message : `bin ${f.bin}: ${f.message}`}`;
  return text;
}

/** Waits `ms`, or less when the signal fires. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
