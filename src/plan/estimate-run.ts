/**
 * `plan --estimate`: the selection `plan` would make, its candidate pairs from the cache
 * index's boxes, and a calibration on a sample of its own candidate pairs read from the
 * cache (a few hundred neurons). Writes nothing.
 */
import type { CacheReader } from "../cache/reader.ts";
import { isSymmetricMode } from "../nblast/modes.ts";
import type { ScoreMatrix } from "../nblast/smat.ts";
import type { Dotprops } from "../nblast/types.ts";
import { calibrate } from "./calibrate.ts";
import { countCandidates, forEachCandidate, pruneDistanceOf, sampleIndices, targetIndex, type SpatialNeurons } from "./candidates.ts";
import { DEFAULT_BINS, planNeurons } from "./create-run.ts";
import { estimate, type Estimate } from "./estimate.ts";
import { selectNeurons } from "./select.ts";
import { plannedPairsInSpaceOrder } from "./spatial.ts";
import type { Normalization } from "./types.ts";

export interface EstimateRunOptions {
  readonly cache: CacheReader;
  readonly bins?: number;
  readonly normalization: Normalization;
  readonly useAlpha: boolean;
  readonly smat: ScoreMatrix;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly queryIds?: readonly bigint[];
  readonly targetIds?: readonly bigint[];
  readonly minScore?: number;
  readonly topN?: number;
  /** USD per vCPU-hour. */
  readonly spotPrice: number;
  /** Queries whose candidates are counted before scaling (default candidates.ts). */
  readonly sample?: number;
  /** Seconds of timed calibration (default 2). */
  readonly calibrateSeconds?: number;
  /** Whether `plan` would order the run in space where it can (default true; false: --no-spatial). */
  readonly spatial?: boolean;
  /** The plan's balance (default "cost"); only "cost" plans are put in space order. */
  readonly balance?: "cost" | "cable";
}

/** Calibration sample: queries, and candidate targets per query. */
const CALIBRATION_QUERIES = 40;
const CALIBRATION_TARGETS = 25;

export async function estimateRun(o: EstimateRunOptions): Promise<Estimate> {
  const cache = o.cache;
  const sel = selectNeurons(planNeurons(cache), {
    minLength: o.minLength,
    maxLength: o.maxLength,
    queryIds: o.queryIds,
    targetIds: o.targetIds,
  });
  const position = (id: bigint): number => cache.indexOf(id);
  const queries = Int32Array.from(sel.queries, (x) => position(x.id));
  const targets = sel.sameSet ? queries : Int32Array.from(sel.targets, (x) => position(x.id));
  const neurons: SpatialNeurons = { boxes: cache.neurons.bbox, points: cache.neurons.points };
  const pruneDistance = pruneDistanceOf(o.smat, { minScore: o.minScore }, o.normalization);
  const counts = countCandidates(neurons, { queries, targets, sameSet: sel.sameSet, pruneDistance, sample: o.sample });
  // As create-run decides: an all-by-all with a prune distance is planned in space order.
  let spaceOrder;
  if (o.spatial !== false && (o.balance ?? "cost") === "cost" && sel.sameSet && pruneDistance < Infinity) {
    const boxes = new Float64Array(6 * queries.length);
    const all = cache.neurons.bbox;
    queries.forEach((q, k) => {
      for (let c = 0; c < 6; c++) boxes[6 * k + c] = all[6 * q + c];
    });
    spaceOrder = plannedPairsInSpaceOrder(boxes, queries.length, pruneDistance);
  }

  // The calibration's pairs: a few queries with some of their candidates (or, where a
  // query has none, some targets at random, which the bounds then mostly rule out).
  const index = targetIndex(neurons, targets);
  const picked = new Map<number, number>(); // cache position -> position in `dotprops`
  const slot = (i: number): number => {
    let s = picked.get(i);
    if (s === undefined) picked.set(i, (s = picked.size));
    return s;
  };
  const pairs: number[] = [];
  for (const k of sampleIndices(queries.length, CALIBRATION_QUERIES, 7)) {
    const q = queries[k];
    const found: number[] = [];
    if (pruneDistance !== Infinity) forEachCandidate(neurons, index, targets, q, pruneDistance, sel.sameSet, (j) => found.push(j));
    let pool = found;
    if (pool.length === 0) pool = Array.from(sampleIndices(targets.length, CALIBRATION_TARGETS + 1, 11 + k)).filter((j) => !(sel.sameSet && targets[j] === q));
    for (const j of sampleIndices(pool.length, CALIBRATION_TARGETS, 13 + k)) pairs.push(slot(q), slot(targets[pool[j]]));
  }
  // Far pairs: the calibration queries against the calibration targets of other queries,
  // where their boxes are at least the prune distance apart.
  const far: number[] = [];
  if (pruneDistance !== Infinity) {
    const b = neurons.boxes;
    const gap2 = (i: number, j: number): number => {
      let g2 = 0;
      for (let a = 0; a < 3; a++) {
        const g = Math.max(0, b[6 * j + a] - b[6 * i + 3 + a], b[6 * i + a] - b[6 * j + 3 + a]);
        g2 += g * g;
      }
      return g2;
    };
    const members = [...picked.keys()];
    for (const i of members) for (const j of members) if (i !== j && far.length < 20_000 && gap2(i, j) >= pruneDistance ** 2) far.push(picked.get(i)!, picked.get(j)!);
  }
  const dotprops = new Array<Dotprops>(picked.size);
  for (const [i, s] of picked) dotprops[s] = (await cache.readRange(i, i + 1))[0];
  const calibration = calibrate({
    dotprops,
    pairs: Int32Array.from(pairs),
    farPairs: Int32Array.from(far),
    smat: o.smat,
    normalization: o.normalization,
    useAlpha: o.useAlpha,
    minScore: o.minScore,
    seconds: o.calibrateSeconds,
  });

  const points = cache.neurons.points;
  let targetPoints = 0;
  for (const t of targets) targetPoints += points[t];
  const bins = o.bins ?? Math.max(1, Math.min(DEFAULT_BINS, queries.length));
  // Self scores: each query's once; in the symmetric modes each bin's targets' too.
  let selfPoints = 0;
  if (o.normalization !== "raw") {
    for (const q of queries) selfPoints += points[q];
    if (isSymmetricMode(o.normalization)) selfPoints += bins * targetPoints;
  }
  return estimate({
    counts,
    calibration,
    queries: queries.length,
    targets: targets.length,
    targetPoints,
    selfPoints,
    bins,
    pairing: !isSymmetricMode(o.normalization) ? "forward" : sel.sameSet ? "unordered" : "both",
    spotPrice: o.spotPrice,
    spaceOrder,
  });
}
