/**
 * One bin of a planned run: `nblast-fanout worker --run RUN_URI --bin K`.
 *
 * Reads the bin's neurons from the (local copy of the) cache into one shared block, scores
 * the bin on every thread, writes shards/bin=K.parquet in one atomic put and only then
 * done/K.json. A bin whose marker holds (its shard present with the recorded sha256) is
 * skipped, so reruns are idempotent; a killed worker leaves no marker, so its bin is rerun.
 */
import { hostname } from "node:os";
import type { CacheReader } from "../cache/reader.ts";
import { InputError } from "../nblast/errors.ts";
import { isSymmetricMode } from "../nblast/modes.ts";
import { manifestScoreMatrix, manifestStoragePolicy } from "../plan/manifest.ts";
import { binWork } from "../plan/work.ts";
import { allocRows, type ScoreRows } from "../results/rows.ts";
import { writeShard } from "../results/shard-store.ts";
import type { Storage } from "../storage/types.ts";
import { describeSystemError } from "../storage/system-error.ts";
import { killPoint } from "../storage/kill-point.ts";
import { TOOL_VERSION } from "../version.ts";
import { planBinLayout } from "./bin-job.ts";
import { checkDone, doneKey, failedKey, DONE_FORMAT, FAILED_FORMAT, MARKER_VERSION, type DoneMarker, type FailedMarker } from "./markers.ts";
import { allocPacked, packedViews, setPackedNeuron, type PackedNeurons } from "./packed.ts";
import { openWorkerSession, type WorkerSession, type WorkerSessionOptions } from "./session.ts";

/** Most bytes of dotprops fetched by one ranged read. */
const READ_CHUNK_BYTES = 64 << 20;

export type BinPhase = "check" | "load" | "self-scores" | "scoring" | "write";

export interface BinProgress {
  readonly bin: number;
  readonly phase: BinPhase;
  /** Pairs of the plan scored so far in this bin, and in all. */
  readonly pairsDone: number;
  readonly pairsTotal: number;
  /** Seconds since the bin started. */
  readonly elapsed: number;
}

export interface RunBinOptions extends WorkerSessionOptions {
  bin: number;
  signal?: AbortSignal;
  onProgress?: (p: BinProgress) => void;
  /** Milliseconds between "scoring" progress calls (default 500). */
  progressMs?: number;
  /** Manifest, cache and threads to reuse across bins; made (and closed) per call when absent. */
  session?: WorkerSession;
  /** Skip pairs proven below the run's minScore (default true; off: every pair is searched). Stored rows are the same either way. */
  prune?: boolean;
}

export interface BinOutcome {
  readonly bin: number;
  /** "skipped": already done (its marker and shard hold). */
  readonly status: "done" | "skipped";
  readonly marker: DoneMarker;
}

export async function runBin(opts: RunBinOptions): Promise<BinOutcome> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const session = opts.session ?? (await openWorkerSession(opts));
  try {
    return await runBinIn(session, opts, started, elapsed);
  } finally {
    if (opts.session === undefined) await session.close();
  }
}

async function runBinIn(session: WorkerSession, opts: RunBinOptions, started: number, elapsed: () => number): Promise<BinOutcome> {
  const { run, manifest } = session;
  const bin = opts.bin;
  const work = binWork(manifest, bin); // InputError for a bin the run does not have
  const mode = manifest.scoring.normalization;
  const policy = manifestStoragePolicy(manifest);
  if (policy.keepForwardReverse && !isSymmetricMode(mode)) {
    throw new InputError(
      `keepForwardReverse needs a symmetric normalization (mean, min, ...): a ${mode} run computes no reverse scores; plan it without --keep-forward-reverse`,
      { source: `${run.uri}/manifest.json` },
    );
  }
  const signal = opts.signal;
  let pairsTotal = 0;
  const progress = (phase: BinPhase, pairsDone = 0): void => {
    opts.onProgress?.({ bin, phase, pairsDone, pairsTotal, elapsed: elapsed() });
  };

  progress("check");
  const existing = await checkDone(run, manifest, bin);
  if (existing.state === "done") return { bin, status: "skipped", marker: existing.marker };
  // A marker that does not hold must go before the shard is rewritten, never after.
  if (existing.state === "stale") await run.delete(doneKey(bin));

  try {
    signal?.throwIfAborted();
    progress("load");
    const cache = await session.cache();
    const packed = await loadNeurons(cache, work.neurons, signal);
    const layout = planBinLayout(work);
    pairsTotal = layout.pairs;
    const selfs = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, packed.count)), 0, packed.count).fill(NaN);
    const tLoaded = performance.now();

    progress("self-scores");
    const result = await session.pool().run(
      {
        packed,
        selfIdx: layout.selfIdx,
        selfs,
        rows: layout.rows,
        items: layout.items,
        itemCount: layout.itemCount,
        cols: layout.cols,
        mode,
        useAlpha: manifest.scoring.useAlpha,
        smat: manifestScoreMatrix(manifest),
        upper: work.layout === "upper",
        diagonal: work.diagonal,
        components: policy.keepForwardReverse,
        minScore: policy.minScore ?? null,
        prune: opts.prune !== false,
      },
      {
        signal,
        onScoring: () => {
          progress("scoring", 0);
          killPoint("bin-scoring");
        },
        onPairs: (n) => progress("scoring", n),
        progressMs: opts.progressMs,
      },
    );
    if (result.pairs !== layout.pairs) throw new Error(`bin ${bin}: scored ${result.pairs} pairs, the plan has ${layout.pairs}`);
    signal?.throwIfAborted();

    progress("write", result.pairs);
    const tWrite = performance.now();
    const rows = concatRows(result.rows, policy.keepForwardReverse);
    const shard = await writeShard(run, bin, rows, {
      policy: { minScore: policy.minScore, topN: policy.topN, keepSelf: policy.keepSelf },
      metadata: { bin: String(bin), bins: String(work.bins), manifest: manifest.digest },
    });
    const marker: DoneMarker = {
      format: DONE_FORMAT,
      version: MARKER_VERSION,
      bin,
      bins: work.bins,
      manifest: manifest.digest,
      shard,
      pairs: result.pairs,
      pruned: result.pruned,
      searches: result.searches,
      rowsComputed: rows.length,
      threads: session.threads,
      host: hostname(),
      pid: process.pid,
      tool: { name: "nblast-fanout", version: TOOL_VERSION },
      cache: { uri: manifest.cache.uri, checksum: cache.checksum, precision: cache.precision },
      timings: {
        load: round3((tLoaded - started) / 1000),
        selfScores: round3(result.selfSeconds),
        scoring: round3(result.scoringSeconds),
        write: 0,
        total: 0,
      },
      peakMemory: process.resourceUsage().maxRSS * 1024,
      neurons: { count: packed.count, points: packed.totalPoints, bytes: packed.buffer.byteLength },
      trees: { built: result.trees, points: result.treePoints, bytes: result.treeBytes },
      finishedAt: "",
    };
    marker.timings.write = round3((performance.now() - tWrite) / 1000);
    marker.timings.total = round3(elapsed());
    marker.finishedAt = new Date().toISOString();
    killPoint("before-marker");
    await run.put(doneKey(bin), JSON.stringify(marker, null, 2) + "\n");
    await run.delete(failedKey(bin));
    return { bin, status: "done", marker };
  } catch (err) {
    if (signal?.aborted) throw err;
    const wrapped = binError(bin, err);
    await recordFailure(run, session, bin, wrapped).catch(() => {});
    throw wrapped;
  }
}

/**
 * The bin's neurons (ascending ids) into one shared block, with as few ranged reads as the
 * cache allows; every read is checked neuron by neuron against the cache's checksums (a
 * damaged neuron fails the bin with a CacheIntegrityError naming it).
 */
async function loadNeurons(cache: CacheReader, ids: BigInt64Array, signal: AbortSignal | undefined): Promise<PackedNeurons> {
  const n = ids.length;
  const index = cache.positionsOf(ids);
  const missing: bigint[] = [];
  for (let i = 0; i < n; i++) if (index[i] < 0) missing.push(ids[i]);
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(", ") + (missing.length > 5 ? ` and ${missing.length - 5} more` : "");
    throw new InputError(
      `${missing.length === 1 ? "neuron" : "neurons"} ${shown} of the plan ${missing.length === 1 ? "is" : "are"} not in the cache ${cache.uri} ` +
        `(checksum ${cache.checksum}); the run's manifest and cache disagree, plan the run again from this cache`,
    );
  }
  const counts = new Float64Array(n);
  for (let i = 0; i < n; i++) counts[i] = cache.neurons.points[index[i]];
  const packed = allocPacked(ids, counts, cache.precision === "float32" ? 4 : 8);
  const views = packedViews(packed);
  for (let a = 0; a < n; ) {
    let b = a + 1;
    while (b < n && index[b] === index[b - 1] + 1 && cache.rangeBytes(index[a], index[b] + 1) <= READ_CHUNK_BYTES) b++;
    const dps = await cache.readRange(index[a], index[b - 1] + 1);
    for (let i = a; i < b; i++) setPackedNeuron(views, i, dps[i - a]);
    signal?.throwIfAborted();
    a = b;
  }
  return packed;
}

function concatRows(parts: readonly ScoreRows[], components: boolean): ScoreRows {
  let total = 0;
  for (const p of parts) total += p.length;
  if (parts.length === 1) return parts[0];
  const out = allocRows(total, components);
  let at = 0;
  for (const p of parts) {
    out.queryId.set(p.queryId, at);
    out.targetId.set(p.targetId, at);
    out.score.set(p.score, at);
    if (components) {
      out.forward!.set(p.forward!, at);
      out.reverse!.set(p.reverse!, at);
    }
    at += p.length;
  }
  return out;
}

/** The error with the bin named first; InputErrors stay InputErrors (bad input, no stack). */
function binError(bin: number, err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e.message.startsWith(`bin ${bin}:`)) return e;
  if (e instanceof InputError) return new InputError(`bin ${bin}: ${e.message}`);
  // A file system's refusal in words (failed/K.json and the run's summary show it).
  const sys = describeSystemError(e);
  const out = new Error(`bin ${bin}: ${sys?.message ?? e.message}`, { cause: e });
  out.name = e.name;
  if (e.stack !== undefined) out.stack = e.stack.replace(e.message, out.message);
  return out;
}

async function recordFailure(run: Storage, session: WorkerSession, bin: number, err: Error): Promise<void> {
  const m: FailedMarker = {
    format: FAILED_FORMAT,
    version: MARKER_VERSION,
    bin,
    manifest: session.manifest.digest,
    error: err.name,
    message: err.message,
    host: hostname(),
    tool: { name: "nblast-fanout", version: TOOL_VERSION },
    at: new Date().toISOString(),
  };
  await run.put(failedKey(bin), JSON.stringify(m, null, 2) + "\n");
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
