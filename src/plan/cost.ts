/**
 * The cost model (docs/plan.md): a nearest-neighbour query into a k-d tree of m points
 * costs log2(m) + c; scoring query q against target t costs points(q) * (log2 points(t) + c);
 * building a tree of m points costs m log2 m, once per bin that needs it; a self score costs
 * points(q) * (log2 points(q) + c), once per bin that needs it.
 *
 * Every per-neuron term is summed with prefix sums, so the exact cost of any block of pairs
 * (including the triangular ones of the upper layout) is O(1) to evaluate.
 */
import type { Layout } from "./types.ts";

export interface CostModel {
  /** c: per query point beyond the log2 m descent (leaf scan, backtracking, score lookup). */
  readonly queryOverhead: number;
  /** Multiplies m log2 m, the cost of building a k-d tree over m points. */
  readonly treeBuild: number;
}

/**
 * Rough calibration of src/nblast/score.ts (rawScore, prepareTarget) on random-walk
 * neurons: ~60-95 ns x (log2 m + c) per query point with c between -4 and 5 depending on
 * geometry and cache effects. Tree builds re-measured on real neurons once the worker
 * built each tree once per bin (prepareTargetInto a shared block): 0.75 (kcs20) to 1.0
 * (fctraces20 resampled at 1 um) of those units per m log2 m, about 0.5-0.7 of a pair score.
 */
export const DEFAULT_COST_MODEL: CostModel = Object.freeze({ queryOverhead: 5, treeBuild: 1 });

/**
 * log2 m quantised to 1/1024: the plan depends only on these, so a last-bit difference
 * in Math.log2 between platforms or Node versions cannot move a cut.
 */
export function log2q(m: number): number {
  return Math.round(Math.log2(m) * 1024) / 1024;
}

/** Estimated cost of scoring a query of `q` points against a target of `t` points. */
export function forwardCost(q: number, t: number, model: CostModel = DEFAULT_COST_MODEL): number {
  return q * (log2q(t) + model.queryOverhead);
}

/** Prefix sums over one ordered list of neurons. Index k holds the sum over positions < k. */
export interface CostSpace {
  readonly n: number;
  /** points */
  readonly sp: Float64Array;
  /** log2 points + c: the cost of one query point against this neuron */
  readonly sl: Float64Array;
  /** sum over j < k of (l_j * sp[j] + p_j * sl[j]): for the triangular blocks */
  readonly sx: Float64Array;
  /** tree builds */
  readonly st: Float64Array;
  /** self scores */
  readonly ss: Float64Array;
}

export function costSpace(points: ArrayLike<number>, model: CostModel): CostSpace {
  const n = points.length;
  const sp = new Float64Array(n + 1);
  const sl = new Float64Array(n + 1);
  const sx = new Float64Array(n + 1);
  const st = new Float64Array(n + 1);
  const ss = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const p = points[i];
    const lg = log2q(p);
    const l = lg + model.queryOverhead;
    sx[i + 1] = sx[i] + l * sp[i] + p * sl[i];
    sp[i + 1] = sp[i] + p;
    sl[i + 1] = sl[i] + l;
    st[i + 1] = st[i] + model.treeBuild * p * lg;
    ss[i + 1] = ss[i] + p * l;
  }
  return { n, sp, sl, sx, st, ss };
}

/**
 * Evaluates the cost of a bin given as blocks (flat [r0, r1, c0, c1] quadruples in a
 * Float64Array, so the planner's inner loop allocates nothing).
 */
export class BlockCoster {
  readonly layout: Layout;
  readonly rows: CostSpace;
  readonly cols: CostSpace;
  /** Queries and targets are the same list: a neuron met as both is loaded and prepared once. */
  readonly sameSpace: boolean;
  readonly symmetric: boolean;
  private readonly treeRows: boolean;
  private readonly selfRows: boolean;
  private readonly selfCols: boolean;
  // scratch for interval unions: up to 8 blocks per piece, two intervals each
  private readonly ivA = new Float64Array(64);
  private readonly ivB = new Float64Array(64);

  constructor(opts: {
    layout: Layout;
    rows: CostSpace;
    cols: CostSpace;
    sameSpace: boolean;
    symmetric: boolean;
    normalized: boolean;
  }) {
    this.layout = opts.layout;
    this.rows = opts.rows;
    this.cols = opts.cols;
    this.sameSpace = opts.sameSpace;
    this.symmetric = opts.symmetric;
    // Symmetric modes search both ways (trees of both sides) and need both self scores;
    // normalized needs the query's self score, hence the query's own tree.
    this.treeRows = opts.symmetric || opts.normalized;
    this.selfRows = opts.symmetric || opts.normalized;
    this.selfCols = opts.symmetric;
    if (opts.layout === "upper" && !(opts.sameSpace && opts.symmetric)) {
      throw new Error("BlockCoster: the upper layout is for symmetric all-by-all only");
    }
  }

  /** Pair work of one block (no per-neuron overheads). */
  pairWork(r0: number, r1: number, c0: number, c1: number): number {
    const R = this.rows;
    const C = this.cols;
    if (this.layout === "rows") {
      const f = (R.sp[r1] - R.sp[r0]) * (C.sl[c1] - C.sl[c0]);
      return this.symmetric ? f + (C.sp[c1] - C.sp[c0]) * (R.sl[r1] - R.sl[r0]) : f;
    }
    // upper: sum over j in [c0, c1), i in [r0, min(r1, j)) of p_i l_j + p_j l_i
    let w = 0;
    const jr = Math.max(c0, r1);
    if (jr < c1) w += (R.sp[r1] - R.sp[r0]) * (R.sl[c1] - R.sl[jr]) + (R.sp[c1] - R.sp[jr]) * (R.sl[r1] - R.sl[r0]);
    const lo = Math.max(c0, r0 + 1);
    const hi = Math.min(c1, r1);
    if (lo < hi) {
      w += R.sx[hi] - R.sx[lo] - R.sp[r0] * (R.sl[hi] - R.sl[lo]) - R.sl[r0] * (R.sp[hi] - R.sp[lo]);
    }
    return w;
  }

  /** Cost of `count` blocks stored as quadruples in `blocks`. */
  cost(blocks: Float64Array, count: number): number {
    let w = 0;
    for (let b = 0; b < count; b++) {
      w += this.pairWork(blocks[4 * b], blocks[4 * b + 1], blocks[4 * b + 2], blocks[4 * b + 3]);
    }
    return w + this.overhead(blocks, count);
  }

  /** Tree builds and self scores of every neuron the blocks meet, each once. */
  overhead(blocks: Float64Array, count: number): number {
    const A = this.ivA;
    if (this.sameSpace) {
      const S = this.rows;
      // trees: rows (when needed) and cols; self scores: rows and/or cols
      let na = 0;
      for (let b = 0; b < count; b++) {
        if (this.treeRows) na = push(A, na, blocks[4 * b], blocks[4 * b + 1]);
        na = push(A, na, blocks[4 * b + 2], blocks[4 * b + 3]);
      }
      let total = unionSum(A, na, S.st);
      const B = this.ivB;
      let nb = 0;
      for (let b = 0; b < count; b++) {
        if (this.selfRows) nb = push(B, nb, blocks[4 * b], blocks[4 * b + 1]);
        if (this.selfCols) nb = push(B, nb, blocks[4 * b + 2], blocks[4 * b + 3]);
      }
      total += unionSum(B, nb, S.ss);
      return total;
    }
    let total = 0;
    let na = 0;
    for (let b = 0; b < count; b++) na = push(A, na, blocks[4 * b], blocks[4 * b + 1]);
    if (this.treeRows) total += unionSum(A, na, this.rows.st);
    if (this.selfRows) total += unionSum(A, na, this.rows.ss);
    na = 0;
    for (let b = 0; b < count; b++) na = push(A, na, blocks[4 * b + 2], blocks[4 * b + 3]);
    total += unionSum(A, na, this.cols.st);
    if (this.selfCols) total += unionSum(A, na, this.cols.ss);
    return total;
  }
}

function push(iv: Float64Array, n: number, s: number, e: number): number {
  if (s >= e) return n;
  iv[2 * n] = s;
  iv[2 * n + 1] = e;
  return n + 1;
}

/** Sum of prefix-summed values over the union of n half-open intervals (sorts iv in place). */
function unionSum(iv: Float64Array, n: number, prefix: Float64Array): number {
  // insertion sort by start: n is at most a dozen
  for (let i = 1; i < n; i++) {
    const s = iv[2 * i];
    const e = iv[2 * i + 1];
    let j = i - 1;
    while (j >= 0 && iv[2 * j] > s) {
      iv[2 * j + 2] = iv[2 * j];
      iv[2 * j + 3] = iv[2 * j + 1];
      j--;
    }
    iv[2 * j + 2] = s;
    iv[2 * j + 3] = e;
  }
  let total = 0;
  let cs = -1;
  let ce = -1;
  for (let i = 0; i < n; i++) {
    const s = iv[2 * i];
    const e = iv[2 * i + 1];
    if (s > ce) {
      if (ce > cs) total += prefix[ce] - prefix[cs];
      cs = s;
      ce = e;
    } else if (e > ce) {
      ce = e;
    }
  }
  if (ce > cs) total += prefix[ce] - prefix[cs];
  return total;
}
