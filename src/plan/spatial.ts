/**
 * Bins that follow space, and the pairs no bin needs to see.
 *
 * An all-by-all whose storage rule keeps only scores above a non-negative --min-score
 * cannot store a pair whose bounding boxes are the prune distance apart or more
 * (candidates.ts: every query point is then in a score-matrix row with no positive cell).
 * So the planner:
 *
 * 1. orders the neurons along a Hilbert curve through their box centres (hilbert.ts), and
 *    cuts that order into groups of g neurons, compact in space;
 * 2. finds every candidate pair (boxes closer than the prune distance) through a flatbush
 *    index of the boxes, and marks the tiles (group a x group b) that hold one: only those
 *    are planned; the pairs of every other tile are skipped, counted, and never read;
 * 3. cuts the tiles, row-major in group order, into exactly N bins of equal estimated
 *    cost: a tile's candidate pairs at the cost model's price, its other pairs at the price
 *    of the box test that rules them out inside the bin, and the trees and self scores of
 *    every group a bin meets, once per bin.
 *
 * Inside a bin the worker still proves each pair before searching it (prune.ts), so the
 * stored rows are the same as a plan of every pair: the tiles are only where to look.
 */
import type Flatbush from "flatbush";
import { forEachCandidate, sampleIndices, targetIndex } from "./candidates.ts";
import { InputError } from "../nblast/errors.ts";
import { hilbertOrder } from "./hilbert.ts";
import { DEFAULT_COST_MODEL, log2q, type CostModel } from "./cost.ts";
import type { Selection } from "./select.ts";
import { isSymmetric, type Bin, type Block, type Normalization, type WorkPlan } from "./types.ts";

export interface SpatialPlanOptions {
  readonly bins: number;
  readonly normalization: Normalization;
  readonly keepSelf: boolean;
  /** Boxes at least this far apart are skipped (finite, > 0: candidates.ts pruneDistanceOf). */
  readonly pruneDistance: number;
  /** 6 per neuron of selection.queries, in its order: min x, y, z, max x, y, z. */
  readonly boxes: ArrayLike<number>;
  readonly costModel?: CostModel;
  /** Neurons per group; default from the set's size (tileSize). */
  readonly groupSize?: number;
}

/**
 * The box test inside a bin, in cost units (about one tree node visit, 60-95 ns): the
 * worker's gap bound of a pair it then skips.
 */
export const FAR_PAIR_COST = 1;

/**
 * Relative slack on the prune distance: boxes are float32 rounded outward and gaps are
 * computed in float64, so a pair is skipped only when its gap is clearly beyond it.
 */
export const GAP_SLACK = 1e-9;

/** Groups: about sqrt(n) / 4 neurons each, 8 to 128, and at most 4096 groups. */
export function tileSize(n: number): number {
  return Math.max(Math.ceil(n / 4096), Math.min(128, Math.max(8, Math.round(Math.sqrt(n) / 4))));
}

/** The bins of an all-by-all in space order, with the pairs no bin holds left out. */
export function planSpatialBins(selection: Selection, o: SpatialPlanOptions): WorkPlan {
  if (!selection.sameSet) throw new Error("planSpatialBins: only an all-by-all run is planned in space order");
  const nBins = o.bins;
  if (!(Number.isSafeInteger(nBins) && nBins >= 1)) throw new InputError(`--bins must be a positive integer, got ${String(nBins)}`);
  const D = o.pruneDistance;
  if (!(D > 0 && Number.isFinite(D))) throw new Error(`planSpatialBins: prune distance must be finite and > 0, got ${D}`);
  const model = o.costModel ?? DEFAULT_COST_MODEL;
  const neurons = selection.queries;
  const n = neurons.length;

  // Positions in Hilbert order; the plan's id list is in that order.
  const order = hilbertOrder(o.boxes, n);
  const ids = new BigInt64Array(n);
  const pts = new Float64Array(n);
  const boxes = new Float64Array(6 * n);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    ids[k] = neurons[i].id;
    pts[k] = neurons[i].points;
    for (let c = 0; c < 6; c++) boxes[6 * k + c] = o.boxes[6 * i + c];
  }
  const symmetric = isSymmetric(o.normalization);
  const upper = symmetric;
  const diag = o.keepSelf;
  const identity = Int32Array.from({ length: n }, (_, k) => k);
  const index = targetIndex({ boxes, points: pts }, identity);

  let g = o.groupSize ?? tileSize(n);
  for (;;) {
    const tiles = liveTiles({ n, g, boxes, pts, index, identity, D, upper, diag, symmetric, model });
    const totalUnits = upper ? (n * (n - 1)) / 2 + (diag ? n : 0) : n * n - (diag ? 0 : n);
    if (tiles.count === 0) {
      throw new InputError(
        `no two neurons are closer than ${D} um (box to box): under the storage rule no pair can be stored. ` +
          "Plan with --no-spatial to score every pair anyway, or with --keep-all to store negative scores",
      );
    }
    // Balance needs several tiles a bin: finer groups when there are too few.
    if (tiles.count < 4 * nBins && g > 1 && o.groupSize === undefined) {
      g = Math.max(1, g >> 1);
      continue;
    }
    if (tiles.count < nBins) {
      throw new InputError(
        `cannot make ${nBins} bins: only ${tiles.count} tiles of neuron pairs are within ${D} um; use --bins ${tiles.count} or fewer`,
      );
    }
    const groupCost = groupCosts(n, g, pts, model, o.normalization);
    const bins = cutTiles(tiles, groupCost, nBins, o.normalization);
    const plan: Bin[] = bins.map((b) => ({ cost: Math.round(b.cost), blocks: tileBlocks(tiles, b.start, b.end, g, n, upper) }));
    return {
      layout: upper ? "upper" : "rows",
      diagonal: diag,
      queries: ids,
      targets: "queries",
      bins: plan,
      order: "space",
      skipped: { distance: D, pairs: totalUnits - tiles.units },
    };
  }
}

/** The tiles holding a candidate pair, row-major: (a, b) with a <= b when `upper`. */
interface Tiles {
  readonly count: number;
  readonly a: Int32Array;
  readonly b: Int32Array;
  /** Estimated cost of each tile's pairs. */
  readonly cost: Float64Array;
  /** Pairs of the plan in all the tiles (upper: unordered). */
  readonly units: number;
}

interface TileInputs {
  readonly n: number;
  readonly g: number;
  readonly boxes: Float64Array;
  readonly pts: Float64Array;
  readonly index: Flatbush;
  /** Positions 0..n-1: the index's targets are the neurons themselves. */
  readonly identity: Int32Array;
  readonly D: number;
  readonly upper: boolean;
  readonly diag: boolean;
  readonly symmetric: boolean;
  readonly model: CostModel;
}

function liveTiles(t: TileInputs): Tiles {
  const { n, g, boxes, pts, index, identity, D, upper, diag, symmetric, model } = t;
  const G = Math.ceil(n / g);
  const cand = new Float64Array(G * G); // candidate pairs' cost per tile
  const live = new Uint8Array(G * G);
  const lg = new Float64Array(n);
  for (let k = 0; k < n; k++) lg[k] = log2q(pts[k]) + model.queryOverhead;
  const reach = D * (1 + GAP_SLACK);
  const spatial = { boxes, points: pts };
  for (let i = 0; i < n; i++) {
    const ga = (i / g) | 0;
    forEachCandidate(spatial, index, identity, i, reach, true, (j) => {
      if (upper && j < i) return;
      const tile = ga * G + ((j / g) | 0);
      live[tile] = 1;
      cand[tile] += pts[i] * lg[j] + (symmetric ? pts[j] * lg[i] : 0);
    });
    if (diag) {
      const tile = ga * G + ga;
      live[tile] = 1;
      cand[tile] += pts[i] * lg[i];
    }
  }
  let count = 0;
  for (let k = 0; k < G * G; k++) count += live[k];
  const a = new Int32Array(count), b = new Int32Array(count), cost = new Float64Array(count);
  let units = 0;
  for (let ga = 0, k = 0; ga < G; ga++) {
    for (let gb = upper ? ga : 0; gb < G; gb++) {
      const tile = ga * G + gb;
      if (live[tile] === 0) continue;
      const ra = Math.min(n, (ga + 1) * g) - ga * g;
      const rb = Math.min(n, (gb + 1) * g) - gb * g;
      const pairs = ga !== gb ? ra * rb : upper ? (ra * (ra - 1)) / 2 + (diag ? ra : 0) : ra * ra - (diag ? 0 : ra);
      a[k] = ga;
      b[k] = gb;
      // every pair of a live tile meets the box test; its candidates, the search as well
      cost[k] = cand[tile] + FAR_PAIR_COST * pairs;
      units += pairs;
      k++;
    }
  }
  return { count, a, b, cost, units };
}

/** Per group: the trees and self scores a bin pays once for each group it meets. */
interface GroupCost {
  /** When the group is a bin's target (column). */
  readonly asTarget: Float64Array;
  /** When the group is a bin's query (row), beyond asTarget when it is both. */
  readonly asQuery: Float64Array;
}

function groupCosts(n: number, g: number, pts: Float64Array, model: CostModel, mode: Normalization): GroupCost {
  const G = Math.ceil(n / g);
  const asTarget = new Float64Array(G), asQuery = new Float64Array(G);
  const symmetric = isSymmetric(mode);
  for (let k = 0; k < n; k++) {
    const p = pts[k];
    const lg = log2q(p);
    const tree = model.treeBuild * p * lg;
    const self = p * (lg + model.queryOverhead);
    const a = (k / g) | 0;
    // raw: targets' trees; normalized: and the queries' trees and self scores; symmetric: all of it, both ways
    asTarget[a] += tree + (symmetric ? self : 0);
    if (mode !== "raw") asQuery[a] += tree + self;
  }
  return { asTarget, asQuery };
}

interface Stretch {
  readonly start: number;
  readonly end: number;
  readonly cost: number;
}

/**
 * Exactly `n` stretches of tiles (n <= tiles) minimising the costliest, by bisection on a
 * bound and a greedy fill (a stretch's cost only grows as it grows); fewer than n are made
 * up by halving the costliest. A stretch pays each group it meets once.
 */
function cutTiles(tiles: Tiles, gc: GroupCost, n: number, mode: Normalization): Stretch[] {
  const G = gc.asTarget.length;
  const seenT = new Int32Array(G).fill(-1);
  const seenQ = new Int32Array(G).fill(-1);
  let stamp = 0;
  const symmetric = isSymmetric(mode);
  // The cost tile k adds to the stretch being filled under stamp `s`.
  const add = (k: number, s: number): number => {
    let c = tiles.cost[k];
    const a = tiles.a[k], b = tiles.b[k];
    if (seenT[b] !== s) {
      seenT[b] = s;
      c += gc.asTarget[b];
    }
    if (symmetric && seenT[a] !== s) {
      seenT[a] = s;
      c += gc.asTarget[a];
    }
    if (seenQ[a] !== s) {
      seenQ[a] = s;
      c += gc.asQuery[a];
    }
    if (symmetric && seenQ[b] !== s) {
      seenQ[b] = s;
      c += gc.asQuery[b];
    }
    return c;
  };
  const costOf = (start: number, end: number): number => {
    const s = ++stamp;
    let c = 0;
    for (let k = start; k < end; k++) c += add(k, s);
    return c;
  };
  const fill = (T: number, limit: number, out: Stretch[] | undefined): number => {
    let count = 0;
    let start = 0;
    let s = ++stamp;
    let c = 0;
    for (let k = 0; k < tiles.count; k++) {
      const before = c;
      c += add(k, s);
      if (c > T && k > start) {
        out?.push({ start, end: k, cost: before });
        if (++count >= limit) return limit + 1;
        start = k;
        s = ++stamp;
        c = add(k, s);
      }
    }
    out?.push({ start, end: tiles.count, cost: c });
    return count + 1;
  };
  let lo = 0;
  let hi = costOf(0, tiles.count);
  for (let it = 0; it < 100 && hi - lo > hi * 1e-6; it++) {
    const mid = (lo + hi) / 2;
    if (fill(mid, n, undefined) <= n) hi = mid;
    else lo = mid;
  }
  const out: Stretch[] = [];
  fill(hi, n, out);
  while (out.length < n) {
    let best = -1;
    for (let i = 0; i < out.length; i++) if (out[i].end - out[i].start >= 2 && (best < 0 || out[i].cost > out[best].cost)) best = i;
    const { start, end } = out[best];
    // split where the tiles' own cost is halved (group costs come with both halves)
    let half = 0;
    for (let k = start; k < end; k++) half += tiles.cost[k] / 2;
    let m = start + 1;
    for (let acc = tiles.cost[start]; m < end - 1 && acc + tiles.cost[m] / 2 < half; m++) acc += tiles.cost[m];
    out.splice(best, 1, { start, end: m, cost: costOf(start, m) }, { start: m, end, cost: costOf(m, end) });
  }
  return out;
}

/**
 * A stretch of tiles as blocks: per row group, runs of adjacent column groups. In the upper
 * layout the diagonal tile is a block of its own (rows = cols), so every other block lies
 * wholly right of its rows: the shapes the manifest checks and the database's bin regions
 * (src/db/region.ts) rely on.
 */
function tileBlocks(tiles: Tiles, start: number, end: number, g: number, n: number, upper: boolean): Block[] {
  const out: Block[] = [];
  const lo = (x: number): number => x * g;
  const hi = (x: number): number => Math.min(n, (x + 1) * g);
  let k = start;
  while (k < end) {
    const a = tiles.a[k];
    let b0 = tiles.b[k];
    let b1 = b0;
    k++;
    const alone = upper && b0 === a;
    if (!alone) {
      while (k < end && tiles.a[k] === a && tiles.b[k] === b1 + 1) b1 = tiles.b[k++];
    }
    out.push({ rows: [lo(a), hi(a)], cols: [lo(b0), hi(b1)] });
  }
  return out;
}

/** What a plan in space order would keep of an all-by-all, counted on a sample of its groups. */
export interface SpaceOrderCount {
  /** Ordered pairs (self pairs left out) in the tiles holding a candidate, scaled from the sample. */
  readonly plannedPairs: number;
  /** Ordered pairs of the whole all-by-all. */
  readonly allPairs: number;
  readonly groups: number;
  /** Neurons per group. */
  readonly groupSize: number;
  /** Mean live tiles (column groups) of a counted row. */
  readonly liveColumnsPerRow: number;
  /** Groups whose rows were counted; all of them below the sample size. */
  readonly countedGroups: number;
}

/**
 * Member queries plannedPairsInSpaceOrder counts by default before it scales (whole groups,
 * at least 4): each costs an index search, 5 to 15 ms at FAFB's density (bench/fafb-estimate.ts).
 */
export const DEFAULT_SPACE_ORDER_QUERIES = 4000;

/**
 * The ordered pairs an all-by-all planned in space order would hold (what planSpatialBins
 * keeps, at its default group size), without finding every candidate pair: the neurons are
 * put in Hilbert order and grouped as the planner groups them, and for a sample of groups
 * every member's candidates mark the live tiles of its row; the planned pairs of those rows
 * are scaled to all rows. `boxes`: 6 per neuron, in any order.
 */
export function plannedPairsInSpaceOrder(boxes: ArrayLike<number>, n: number, pruneDistance: number, sampleGroups?: number, seed = 5): SpaceOrderCount {
  const allPairs = n * (n - 1);
  if (n < 2) return { plannedPairs: 0, allPairs, groups: n, groupSize: 1, liveColumnsPerRow: 0, countedGroups: n };
  const order = hilbertOrder(boxes, n);
  const sorted = new Float64Array(6 * n);
  for (let k = 0; k < n; k++) for (let c = 0; c < 6; c++) sorted[6 * k + c] = boxes[6 * order[k] + c];
  const g = tileSize(n);
  const G = Math.ceil(n / g);
  const identity = Int32Array.from({ length: n }, (_, k) => k);
  const spatial = { boxes: sorted, points: new Float64Array(n) };
  const index = targetIndex(spatial, identity);
  const size = (a: number): number => Math.min(n, (a + 1) * g) - a * g;
  const reach = pruneDistance * (1 + GAP_SLACK);
  const rows = sampleIndices(G, sampleGroups ?? Math.max(4, Math.ceil(DEFAULT_SPACE_ORDER_QUERIES / g)), seed);
  const live = new Uint8Array(G);
  let planned = 0;
  let liveColumns = 0;
  for (const a of rows) {
    live.fill(0);
    for (let i = a * g, end = a * g + size(a); i < end; i++) {
      forEachCandidate(spatial, index, identity, i, reach, true, (j) => {
        live[(j / g) | 0] = 1;
      });
    }
    const ra = size(a);
    for (let b = 0; b < G; b++) {
      if (live[b] === 0) continue;
      liveColumns++;
      planned += b === a ? ra * (ra - 1) : ra * size(b);
    }
  }
  return {
    plannedPairs: Math.round((planned * G) / rows.length),
    allPairs,
    groups: G,
    groupSize: g,
    liveColumnsPerRow: liveColumns / rows.length,
    countedGroups: rows.length,
  };
}
