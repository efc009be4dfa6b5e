/**
 * One bin's work, spelled out from the manifest for a worker: the blocks, which neurons
 * to read, which self scores to compute, and the pairs themselves.
 *
 * Self scores: every bin computes the self score of every neuron it needs one for
 * (normalized: its queries; symmetric modes: every neuron it meets). No bin depends on
 * another; the planner charges each bin for these.
 */
import { compareIdAt, copyIdAt, idWords } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import { manifestWorkPlan, type RunManifest } from "./manifest.ts";
import { isSymmetric, type Block, type Layout, type Normalization, type WorkPlan } from "./types.ts";

export interface BinWork {
  readonly index: number;
  /** Number of bins in the run. */
  readonly bins: number;
  readonly layout: Layout;
  /** Pairs of a neuron with itself are part of the work. */
  readonly diagonal: boolean;
  readonly normalization: Normalization;
  /** The run's query ids; blocks index into these. */
  readonly queries: BigInt64Array;
  /** The run's target ids (the query list itself when all-by-all). */
  readonly targets: BigInt64Array;
  readonly blocks: readonly Block[];
  /** Estimated cost (docs/plan.md units). */
  readonly cost: number;
  /** Ids of every neuron this bin reads, ascending. */
  readonly neurons: BigInt64Array;
  /** Ids whose self score this bin computes, ascending (a subset of `neurons`). */
  readonly selfScores: BigInt64Array;
}

/** The work of bin `index` (0-based) of a run. */
export function binWork(manifest: RunManifest, index: number): BinWork {
  return planBinWork(manifestWorkPlan(manifest), manifest.scoring.normalization, index);
}

/** binWork for a plan not (yet) in a manifest. */
export function planBinWork(w: WorkPlan, mode: Normalization, index: number): BinWork {
  const n = w.bins.length;
  if (!(Number.isSafeInteger(index) && index >= 0 && index < n)) {
    throw new InputError(`bin ${String(index)} does not exist: the run has ${n} bins, numbered 0 to ${n - 1}`);
  }
  const queries = w.queries;
  const targets = w.targets === "queries" ? w.queries : w.targets;
  const bin = w.bins[index];
  const blocks: Block[] = bin.blocks.map((b) => ({ rows: [b.rows[0], b.rows[1]], cols: [b.cols[0], b.cols[1]] }));
  // Neurons by position in the two lists (both ascending by id), merged by id.
  const rowPos = positionsIn(blocks.map((b) => b.rows), queries.length);
  const colPos = positionsIn(blocks.map((b) => b.cols), targets.length);
  // Space order: one list, not ascending; the bin's neurons are still listed ascending.
  const space = w.order === "space";
  const neurons = space ? sortedIdsAt(queries, union(rowPos, colPos)) : mergeIds(queries, rowPos, targets, colPos);
  const rowIds = space ? sortedIdsAt(queries, rowPos) : mergeIds(queries, rowPos, targets, new Int32Array(0));
  const selfScores = isSymmetric(mode) ? neurons : mode === "normalized" ? rowIds : new BigInt64Array(0);
  return {
    index,
    bins: n,
    layout: w.layout,
    diagonal: w.diagonal,
    normalization: mode,
    queries,
    targets,
    blocks,
    cost: bin.cost,
    neurons,
    selfScores,
  };
}

/** The positions covered by some range, ascending, each once. */
function positionsIn(ranges: readonly (readonly [number, number])[], n: number): Int32Array {
  const mark = new Uint8Array(n);
  let count = 0;
  for (const [a, b] of ranges) {
    for (let i = a; i < b; i++) {
      count += 1 - mark[i];
      mark[i] = 1;
    }
  }
  const out = new Int32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (mark[i] === 1) out[k++] = i;
  return out;
}

/** Positions in a or b (each ascending, distinct), ascending, each once. */
function union(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0, j = 0, k = 0;
  while (i < a.length || j < b.length) {
    const x = j === b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    out[k++] = x;
    if (i < a.length && a[i] === x) i++;
    if (j < b.length && b[j] === x) j++;
  }
  return out.slice(0, k);
}

/** The ids at positions `pos` of `ids` (distinct ids), ascending. */
function sortedIdsAt(ids: BigInt64Array, pos: Int32Array): BigInt64Array {
  const out = new BigInt64Array(pos.length);
  for (let k = 0; k < pos.length; k++) out[k] = ids[pos[k]];
  // ids are 0 to 2^63 - 1: signed order is their order
  return out.sort();
}

/** The ids at positions `pa` of `a` and `pb` of `b` (each ascending), merged ascending, each once. */
function mergeIds(a: BigInt64Array, pa: Int32Array, b: BigInt64Array, pb: Int32Array): BigInt64Array {
  const aw = idWords(a);
  const bw = idWords(b);
  const out = new BigInt64Array(pa.length + pb.length);
  const ow = idWords(out);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < pa.length || j < pb.length) {
    const c = i === pa.length ? 1 : j === pb.length ? -1 : compareIdAt(aw, pa[i], bw, pb[j]);
    if (c <= 0) copyIdAt(ow, k++, aw, pa[i]);
    else copyIdAt(ow, k++, bw, pb[j]);
    if (c <= 0) i++;
    if (c >= 0) j++;
  }
  return out.slice(0, k);
}

/**
 * Calls fn(queryId, targetId) for every pair the bin owns, block by block, rows outer.
 * rows layout: every (query, target) of each block. upper layout: (ids[i], ids[j]) with
 * i < j; in both, a neuron paired with itself only when `diagonal`. For tests and tools:
 * it makes two bigints a pair (the worker walks positions instead, see bin-job.ts).
 */
export function forEachPair(work: BinWork, fn: (query: bigint, target: bigint) => void): void {
  const { queries, targets, diagonal } = work;
  for (const b of work.blocks) {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    for (let i = r0; i < r1; i++) {
      const q = queries[i];
      if (work.layout === "upper") {
        for (let j = Math.max(c0, diagonal ? i : i + 1); j < c1; j++) fn(q, targets[j]);
      } else {
        for (let j = c0; j < c1; j++) {
          const t = targets[j];
          if (diagonal || t !== q) fn(q, t);
        }
      }
    }
  }
}
