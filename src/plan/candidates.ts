/**
 * Candidate pairs of a run without looking at all n^2 of them: the pairs whose bounding
 * boxes are closer than the prune distance, found through a static spatial index of the
 * targets' boxes (flatbush, on x and y; z and the true 3-D box gap are checked on each hit).
 *
 * The prune distance is the lower edge of the first distance row from which every cell of
 * the score matrix is negative (12 um for FCWB): a pair whose boxes are that far apart has
 * every query point in such a row, so its raw score, and its normalized or mean score, is
 * below 0 and no rule that stores only scores above a non-negative --min-score keeps it.
 * (The worker proves this again, exactly, pair by pair: prune.ts. Here it only counts.)
 *
 * Counting every query of a large run costs one index search per query; past `sample`
 * queries a deterministic sample is counted and scaled, and the result says so.
 */
import Flatbush from "flatbush";
import { ScoreBounds } from "../nblast/bounds.ts";
import type { ScoreMatrix } from "../nblast/smat.ts";
import type { Normalization } from "../nblast/modes.ts";

/** Boxes and point counts of the neurons a run may pair (queries and targets index into these). */
export interface SpatialNeurons {
  /** 6 per neuron: min x, y, z, max x, y, z (the cache index's bbox column). */
  readonly boxes: ArrayLike<number>;
  /** Dotprops points per neuron. */
  readonly points: ArrayLike<number>;
}

export interface CandidateOptions {
  /** Neurons as queries and as targets (indices into SpatialNeurons). */
  readonly queries: Int32Array;
  readonly targets: Int32Array;
  /** Queries and targets are the same neurons: self pairs are not counted. */
  readonly sameSet: boolean;
  /** Boxes at least this far apart cannot pair; Infinity: every pair is a candidate. */
  readonly pruneDistance: number;
  /** Count at most this many queries, scaling the rest (default 20,000). */
  readonly sample?: number;
  readonly seed?: number;
}

export interface CandidateCount {
  /** Ordered (query, target) pairs of the run, candidates or not. */
  readonly allPairs: number;
  /** Ordered pairs whose boxes are closer than the prune distance. */
  readonly candidatePairs: number;
  /** Nearest-neighbour queries of the full run: points of each query times the targets. */
  readonly allQueries: number;
  /** Nearest-neighbour queries of the candidate pairs (each query point once per candidate). */
  readonly candidateQueries: number;
  /** Queries counted; less than queries.length when the rest was scaled from them. */
  readonly countedQueries: number;
  readonly pruneDistance: number;
}

export const DEFAULT_CANDIDATE_SAMPLE = 20_000;

/**
 * The distance from which no cell of `smat` is positive, or Infinity when no distance
 * rules a pair out: the storage rule may keep negative scores (no --min-score, or a
 * negative one), or every row has a positive cell, or (a mode that divides by self scores)
 * a self score could be negative, which would turn a negative raw score positive. A self
 * score's terms are cells of the row of distance 0 (each point is its own nearest
 * neighbour, or an identical point's), weighted by alpha >= 0: when that row has no
 * negative cell, no self score is negative. --top-n does not change the distance: it
 * keeps the best N of the rows above --min-score, which pairs below it never are.
 */
export function pruneDistanceOf(smat: ScoreMatrixLike, storage: { readonly minScore: number | undefined }, mode: Normalization): number {
  if (storage.minScore === undefined || !(storage.minScore >= 0)) return Infinity;
  const nc = smat.dotBreaks.length - 1;
  if (mode !== "raw") {
    const r0 = distanceRow(smat.distBreaks, 0);
    for (let c = 0; c < nc; c++) if (!(smat.values[r0 * nc + c] >= 0)) return Infinity;
  }
  const best = new ScoreBounds(smat as ScoreMatrix).bestFromRow;
  for (let r = 0; r < best.length; r++) if (best[r] < 0) return smat.distBreaks[r];
  return Infinity;
}

/** R's findInterval(d, breaks, all.inside = TRUE) - 1: the row of distance d. */
function distanceRow(breaks: ArrayLike<number>, d: number): number {
  let r = 0;
  while (r < breaks.length - 2 && d >= breaks[r + 1]) r++;
  return r;
}

/** What pruneDistanceOf reads of a score matrix (typed arrays or the manifest's numbers). */
export interface ScoreMatrixLike {
  readonly distBreaks: ArrayLike<number>;
  readonly dotBreaks: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

/** A target index over the x-y extent of each target box, grown by nothing (queries grow). */
export function targetIndex(neurons: SpatialNeurons, targets: Int32Array): Flatbush {
  const index = new Flatbush(Math.max(1, targets.length));
  const b = neurons.boxes;
  for (let k = 0; k < targets.length; k++) {
    const i = 6 * targets[k];
    index.add(b[i], b[i + 1], b[i + 3], b[i + 4]);
  }
  // flatbush needs at least one item
  if (targets.length === 0) index.add(Infinity, Infinity, Infinity, Infinity);
  index.finish();
  return index;
}

/**
 * Calls `visit(k)` for each position k in `targets` whose box is closer than `distance` to
 * neuron `q`'s box (squared 3-D gap below distance^2), self excluded when `sameSet`.
 */
export function forEachCandidate(
  neurons: SpatialNeurons,
  index: Flatbush,
  targets: Int32Array,
  q: number,
  distance: number,
  sameSet: boolean,
  visit: (k: number) => void,
): void {
  const b = neurons.boxes;
  const i = 6 * q;
  const x0 = b[i], y0 = b[i + 1], z0 = b[i + 2], x1 = b[i + 3], y1 = b[i + 4], z1 = b[i + 5];
  const d2 = distance * distance;
  index.search(x0 - distance, y0 - distance, x1 + distance, y1 + distance, (k) => {
    const t = targets[k];
    if (t === undefined || (sameSet && t === q)) return false;
    const j = 6 * t;
    const gx = Math.max(0, b[j] - x1, x0 - b[j + 3]);
    const gy = Math.max(0, b[j + 1] - y1, y0 - b[j + 4]);
    const gz = Math.max(0, b[j + 2] - z1, z0 - b[j + 5]);
    if (gx * gx + gy * gy + gz * gz < d2) visit(k);
    return false; // nothing collected: the index allocates no result list
  });
}

/** Counts the candidate pairs and the nearest-neighbour queries they need. */
export function countCandidates(neurons: SpatialNeurons, o: CandidateOptions): CandidateCount {
  const { queries, targets, sameSet, pruneDistance } = o;
  const p = neurons.points;
  let targetPoints = 0;
  for (let k = 0; k < targets.length; k++) targetPoints += p[targets[k]];
  let queryPoints = 0;
  for (let k = 0; k < queries.length; k++) queryPoints += p[queries[k]];
  const perQuery = sameSet ? targets.length - 1 : targets.length;
  const allPairs = queries.length * perQuery;
  const allQueries = sameSet ? queryPoints * (targets.length - 1) : queryPoints * targets.length;
  if (pruneDistance === Infinity) {
    return { allPairs, candidatePairs: allPairs, allQueries, candidateQueries: allQueries, countedQueries: queries.length, pruneDistance };
  }
  const sample = Math.min(queries.length, o.sample ?? DEFAULT_CANDIDATE_SAMPLE);
  const chosen = sampleIndices(queries.length, sample, o.seed ?? 1);
  const index = targetIndex(neurons, targets);
  let pairs = 0;
  let nn = 0;
  let sampledPoints = 0;
  for (let s = 0; s < chosen.length; s++) {
    const q = queries[chosen[s]];
    let found = 0;
    forEachCandidate(neurons, index, targets, q, pruneDistance, sameSet, () => found++);
    pairs += found;
    nn += found * p[q];
    sampledPoints += p[q];
  }
  // Scale by queries for pairs and by query points for queries (a sample of long queries
  // must not inflate the count of short ones).
  const byQueries = chosen.length === 0 ? 0 : queries.length / chosen.length;
  const byPoints = sampledPoints === 0 ? 0 : queryPoints / sampledPoints;
  return {
    allPairs,
    candidatePairs: Math.round(pairs * byQueries),
    allQueries,
    candidateQueries: Math.round(nn * byPoints),
    countedQueries: chosen.length,
    pruneDistance,
  };
}

/** `k` distinct positions of 0..n-1, sorted (every position when k >= n); deterministic from the seed. */
export function sampleIndices(n: number, k: number, seed: number): Int32Array {
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  // Floyd's algorithm: k draws, no array of n.
  const picked = new Set<number>();
  let s = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: enough for a sample, and the same on every platform
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  for (let j = n - k; j < n; j++) {
    const t = Math.floor(next() * (j + 1));
    picked.add(picked.has(t) ? j : t);
  }
  return Int32Array.from(picked).sort();
}
