/**
 * Upper bounds of a pair's raw NBLAST score, cheap enough to try before the search, so that
 * pairs that cannot reach a threshold (the run's --min-score, a query's current N-th best)
 * can be skipped without changing any stored row.
 *
 * A query point's score cell is (distance bin of its nearest target point, |dot| bin). If
 * every target point is at least L from the query point, its distance bin is at least
 * bin(L), so its cell is at most the best cell at or beyond that distance, over all |dot|
 * bins: `bestCellAtOrBeyond(L)`. With alpha the |dot| is scaled by sqrt(alpha_q alpha_t),
 * which only moves it between columns, and the best over columns covers every column.
 * Summed over the query's points, that bounds the score. Two lower bounds L:
 *
 * - `gapBound`: the gap between the bounding boxes of query and target (one for every
 *   point; a few nanoseconds a pair);
 * - `pointBound`: per query point, its distance to the nearest box of the target tree's
 *   nodes `depth` levels down (2^depth boxes at most, tighter as depth grows).
 *
 * Exactness. Lower bounds of distances are computed with the same subtractions and the same
 * order of additions as the kernel's squared distance (score.ts, kdtree.ts): rounding is
 * monotone, so a computed bound never exceeds a computed distance, and findInterval is
 * monotone too. The kernel's score is a sum of products value * count, each rounded to a
 * double, added in long double and rounded once more; the bound is a sum in double of a few
 * per-row products. Both differ from the exact sum of value * count by less than
 * (cells + rows + 8) * 2^-52 * n * max|value| (n query points, each rounding at most half
 * an ulp of a partial sum bounded by n * max|value|), and the bound adds that margin, so
 * `bound >= rawScore` always, with custom matrices too. In alpha mode a query point whose
 * scaled |dot| is NaN is not counted (R's tabulate drops it); unless every input is valid
 * (`alwaysCounted`), rows whose best cell is negative then count 0, not their cell.
 */
import type { KdTree } from "./kdtree.ts";
import { BinLookup } from "./smat.ts";
import type { ScoreMatrix } from "./smat.ts";
import type { Dotprops, Vec3Array } from "./types.ts";

/** Axis-aligned box as minX minY minZ maxX maxY maxZ. */
export type Box = Float64Array;

/** The tight bounding box of `points` (xyz interleaved); an empty set gives +Infinity mins and -Infinity maxes. */
export function boundingBox(points: Vec3Array, out: Box = new Float64Array(6)): Box {
  let x0 = Infinity, y0 = Infinity, z0 = Infinity;
  let x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i], y = points[i + 1], z = points[i + 2];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (z < z0) z0 = z;
    if (z > z1) z1 = z;
  }
  out[0] = x0;
  out[1] = y0;
  out[2] = z0;
  out[3] = x1;
  out[4] = y1;
  out[5] = z1;
  return out;
}

/**
 * Squared gap between boxes a and b (0 when they touch or overlap). For any point q in a
 * and p in b, the kernel's computed (q - p)^2 summed x, y, z is at least this.
 */
export function boxGap2(a: Box, b: Box): number {
  const gx = Math.max(0, b[0] - a[3], a[0] - b[3]);
  const gy = Math.max(0, b[1] - a[4], a[1] - b[4]);
  const gz = Math.max(0, b[2] - a[5], a[2] - b[5]);
  return gx * gx + gy * gy + gz * gz;
}

/** Squared distance from (x, y, z) to the box at boxes[o..o+5], a lower bound of the computed squared distance to any point in it. */
function pointBoxDist2(boxes: Float64Array, o: number, x: number, y: number, z: number): number {
  const gx = Math.max(0, boxes[o] - x, x - boxes[o + 3]);
  const gy = Math.max(0, boxes[o + 1] - y, y - boxes[o + 4]);
  const gz = Math.max(0, boxes[o + 2] - z, z - boxes[o + 5]);
  return gx * gx + gy * gy + gz * gz;
}

/**
 * Largest |alpha| and |vect| component allowed for `alwaysCounted`: then every dot product
 * and alpha factor is finite and no scaled |dot| can be NaN (an overflow to Infinity still
 * counts, in the last bin).
 */
const VALID_LIMIT = 1e150;

/**
 * True when every point of a neuron is valid for alpha scoring: alpha finite and in
 * [0, 1e150], tangent components finite and within 1e150. Two valid neurons never have a
 * query point dropped from the score.
 */
export function validForAlpha(dp: Dotprops): boolean {
  const { alpha, vect } = dp;
  for (let i = 0; i < alpha.length; i++) {
    const a = alpha[i];
    if (!(a >= 0 && a <= VALID_LIMIT)) return false;
  }
  for (let i = 0; i < vect.length; i++) {
    const v = vect[i];
    if (!(v >= -VALID_LIMIT && v <= VALID_LIMIT)) return false;
  }
  return true;
}

/**
 * Whether every query point is counted in the pair's score: always without alpha (a NaN
 * |dot| lands in the first bin), and with alpha when both neurons are validForAlpha.
 */
export function alwaysCounted(useAlpha: boolean, queryValid: boolean, targetValid: boolean): boolean {
  return !useAlpha || (queryValid && targetValid);
}

/** Score bounds for one score matrix (any matrix: FCWB, alpha-FCWB or a custom one). */
export class ScoreBounds {
  readonly smat: ScoreMatrix;
  /** Per distance bin r: the best cell of rows r and beyond, over all |dot| bins. */
  readonly bestFromRow: Float64Array;
  /** bestFromRow with negative values raised to 0 (for points that may be dropped). */
  private readonly bestFromRowOrZero: Float64Array;
  private readonly dist: BinLookup;
  private readonly rows: number;
  /** (cells + rows + 8) * 2^-52 * max|value|: the margin per query point (see the module comment). */
  private readonly marginPerPoint: number;
  /** Per-row counts of the current bound (scratch). */
  private readonly rowCounts: Float64Array;

  constructor(smat: ScoreMatrix) {
    const rows = smat.distBreaks.length - 1;
    const cols = smat.dotBreaks.length - 1;
    if (!(rows >= 1 && cols >= 1 && smat.values.length === rows * cols)) {
      throw new RangeError(`score matrix ${smat.name}: ${smat.values.length} values for ${rows} x ${cols} bins`);
    }
    this.smat = smat;
    this.rows = rows;
    this.dist = new BinLookup(smat.distBreaks);
    const best = new Float64Array(rows);
    let maxAbs = 0;
    let run = -Infinity;
    for (let r = rows - 1; r >= 0; r--) {
      for (let c = 0; c < cols; c++) {
        const v = smat.values[r * cols + c];
        if (!Number.isFinite(v)) throw new RangeError(`score matrix ${smat.name}: value ${r * cols + c + 1} is not finite`);
        if (v > run) run = v;
        if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
      }
      best[r] = run;
    }
    this.bestFromRow = best;
    this.bestFromRowOrZero = best.map((v) => Math.max(v, 0));
    this.marginPerPoint = (rows * cols + rows + 8) * 2 ** -52 * maxAbs;
    this.rowCounts = new Float64Array(rows);
  }

  /** The best cell a query point can have when its nearest target point is at least `dist` away. */
  bestCellAtOrBeyond(dist: number): number {
    return this.bestFromRow[this.dist.bin(dist)];
  }

  /**
   * Bound from the boxes alone: every one of the nq query points is at least the boxes' gap
   * from every target point. `queryBox` must bound the query's points and `targetBox` the
   * target's (boundingBox, or a tree's root box).
   */
  gapBound(nq: number, queryBox: Box, targetBox: Box, counted = true): number {
    if (nq === 0) return 0;
    const best = (counted ? this.bestFromRow : this.bestFromRowOrZero)[this.dist.bin(Math.sqrt(boxGap2(queryBox, targetBox)))];
    return nq * best + nq * this.marginPerPoint;
  }

  /**
   * Bound from each query point's distance to the boxes of the target tree's nodes `depth`
   * levels below the root (leaves above that depth count as themselves): depth 0 is the
   * root box alone. `queryPoints` are the query's points, xyz interleaved, in any order.
   */
  pointBound(queryPoints: Vec3Array, target: KdTree, depth: number, counted = true): number {
    const nq = queryPoints.length / 3;
    if (nq === 0) return 0;
    if (target.n === 0) throw new RangeError("target has no points");
    const frontier = frontierOf(target, depth);
    const boxes = target.boxes;
    const counts = this.rowCounts;
    counts.fill(0);
    const dist = this.dist;
    for (let i = 0; i < queryPoints.length; i += 3) {
      const x = queryPoints[i], y = queryPoints[i + 1], z = queryPoints[i + 2];
      let d2 = Infinity;
      for (let k = 0; k < frontier.length; k++) {
        const b = pointBoxDist2(boxes, 6 * frontier[k], x, y, z);
        if (b < d2) d2 = b;
      }
      counts[dist.bin(Math.sqrt(d2))]++;
    }
    return this.sumRows(nq, counted);
  }

  /**
   * The cheapest bound first, then tighter ones, until one is below `threshold` (the pair
   * cannot reach it) or `maxDepth` is tried. Returns the last bound computed: below
   * `threshold` means the pair is proven below it.
   */
  pairBound(queryPoints: Vec3Array, queryBox: Box, target: KdTree, threshold: number, maxDepth: number, counted = true): number {
    const nq = queryPoints.length / 3;
    let b = this.gapBound(nq, queryBox, target.boxes.subarray(0, 6), counted);
    for (let depth = 1; depth <= maxDepth && b >= threshold; depth++) b = Math.min(b, this.pointBound(queryPoints, target, depth, counted));
    return b;
  }

  private sumRows(nq: number, counted: boolean): number {
    const best = counted ? this.bestFromRow : this.bestFromRowOrZero;
    const counts = this.rowCounts;
    let s = 0;
    for (let r = 0; r < this.rows; r++) if (counts[r] !== 0) s += counts[r] * best[r];
    return s + nq * this.marginPerPoint;
  }
}

/** Nodes `depth` levels below the root (or leaves above it), cached per tree and depth. */
const frontiers = new WeakMap<KdTree, Int32Array[]>();

function frontierOf(tree: KdTree, depth: number): Int32Array {
  if (!(Number.isInteger(depth) && depth >= 0 && depth <= 30)) throw new RangeError(`depth must be an integer from 0 to 30, got ${depth}`);
  let byDepth = frontiers.get(tree);
  if (byDepth === undefined) frontiers.set(tree, (byDepth = []));
  const cached = byDepth[depth];
  if (cached !== undefined) return cached;
  let level = [0];
  for (let d = 0; d < depth; d++) {
    const next: number[] = [];
    for (const k of level) {
      const c = tree.children[k];
      if (c === 0) next.push(k);
      else next.push(c, c + 1);
    }
    level = next;
  }
  const out = Int32Array.from(level);
  byDepth[depth] = out;
  return out;
}
