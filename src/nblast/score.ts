/**
 * The NBLAST v2 score of a query against a target, as nat.nblast computes it
 * (WeightedNNBasedLinesetMatching + lodsby2dhist): for every query point the
 * nearest target point, the distance and |dot| of their tangents (with alpha:
 * |dot| * sqrt(zapsmall(alpha_q * alpha_t))), binned by the score matrix; the
 * score is sum(smat * counts) as R sums it.
 *
 * R does two sums in x87 long double: rowSums() for each dot product and sum()
 * for the score. The score's sum is emulated exactly (long-double.ts); a dot
 * product is taken in double, which can differ from R's by an ulp, and redone
 * the long-double way only when that ulp could move it across a |dot| break.
 *
 * The nearest target point is R's: the fast k-d tree answers every query and flags
 * the rare ones where another target point is (nearly) as near; those are asked again
 * of NaborTree, which repeats nabor::knn's search and so takes the point R takes.
 */
import { KdTree } from "./kdtree.ts";
import { NaborTree } from "./nabor-tree.ts";
import { ldAdd, ldHi, ldLo, ldSum3 } from "./long-double.ts";
import { combineScores, isSymmetricMode, needsSelfScores } from "./modes.ts";
import type { Normalization } from "./modes.ts";
import { BinLookup, SMAT_ALPHA_FCWB, SMAT_FCWB } from "./smat.ts";
import type { ScoreMatrix } from "./smat.ts";
import type { Dotprops, Vec3Array } from "./types.ts";
import { roundR, zapsmallDigits } from "./zapsmall.ts";

export { combineScores, isNormalization, isSymmetricMode, needsSelfScores, NORMALIZATIONS } from "./modes.ts";
export type { Normalization } from "./modes.ts";

/** A target ready for many queries: its tree, and tangents and alpha in tree order (Float64). */
export interface PreparedTarget {
  readonly n: number;
  readonly tree: KdTree;
  /** 3n tangents, slot order (slot = index into tree.coords). */
  readonly vect: Float64Array;
  /** n alpha values, slot order. */
  readonly alpha: Float64Array;
  readonly dotprops: Dotprops;
  /** Resolves the queries the fast tree flags as tied, as nabor does (built on first use, per object). */
  readonly ties: TieResolver;
}

/**
 * libnabo's answer for the few queries with several (nearly) equidistant target points.
 * Its tree is built the first time a tie is met, so targets without ties never pay for it;
 * each PreparedTarget object (one per thread) has its own.
 */
export class TieResolver {
  private nabor: NaborTree | undefined;
  private slotOf: Int32Array | undefined;
  /** Squared distance of the last answer. */
  lastDist2 = Infinity;
  /** How many queries were resolved here (for benchmarks and tests). */
  resolved = 0;

  private readonly points: Vec3Array;
  private readonly ids: Int32Array;

  /** `points` in original order; `ids` the fast tree's slot -> original index. */
  constructor(points: Vec3Array, ids: Int32Array) {
    this.points = points;
    this.ids = ids;
  }

  /** The slot (fast tree order) of the point nabor::knn(target, query, k = 1) returns. */
  nearestSlot(x: number, y: number, z: number): number {
    if (this.nabor === undefined) {
      this.nabor = new NaborTree(this.points);
      const ids = this.ids;
      const slotOf = new Int32Array(ids.length);
      for (let s = 0; s < ids.length; s++) slotOf[ids[s]] = s;
      this.slotOf = slotOf;
    }
    this.resolved++;
    const i = this.nabor.nearest(x, y, z);
    this.lastDist2 = this.nabor.lastDist2;
    return this.slotOf![i];
  }
}

/**
 * Bytes a prepared target of n points takes in a buffer (a multiple of 8): the tree
 * (KdTree.byteLength), then tangents and alpha in slot order, all read-only once built.
 */
export function preparedTargetBytes(n: number): number {
  return KdTree.byteLength(n, SCORE_LEAF_SIZE) + 32 * n;
}

/**
 * Leaf size of scoring trees. Bigger leaves mean fewer box tests (the costly, unpredictable
 * part of a search) for a few more point distances (cheap and predictable): 16 measured
 * about 10% faster than 8 on kcs20 and synth200 (bench/kernel.bench.ts).
 */
export const SCORE_LEAF_SIZE = 16;

/** A target's tree, tangents and alpha, in a buffer of its own. */
export function prepareTarget(dp: Dotprops): PreparedTarget {
  return prepareTargetInto(dp, new ArrayBuffer(preparedTargetBytes(checkDotprops(dp, "target"))), 0);
}

/**
 * prepareTarget written into `buffer` at `byteOffset` (a multiple of 8, with
 * preparedTargetBytes(n) bytes free), e.g. a slice of a SharedArrayBuffer that other
 * threads open with preparedTargetFrom.
 */
export function prepareTargetInto(dp: Dotprops, buffer: ArrayBufferLike, byteOffset: number): PreparedTarget {
  const n = checkDotprops(dp, "target");
  const tree = new KdTree(dp.points, SCORE_LEAF_SIZE, buffer, byteOffset);
  const { vect, alpha } = slotArrays(tree, buffer, byteOffset, n);
  const ids = tree.ids;
  for (let s = 0; s < n; s++) {
    const i = ids[s];
    vect[3 * s] = dp.vect[3 * i];
    vect[3 * s + 1] = dp.vect[3 * i + 1];
    vect[3 * s + 2] = dp.vect[3 * i + 2];
    alpha[s] = dp.alpha[i];
  }
  return { n, tree, vect, alpha, dotprops: dp, ties: new TieResolver(dp.points, tree.ids) };
}

/**
 * The prepared target that prepareTargetInto wrote at `byteOffset` of `buffer` for
 * `dp`, opened without copying: a new KdTree object (its own query state) over the
 * same arrays. Cheap, so each thread makes its own.
 */
export function preparedTargetFrom(dp: Dotprops, buffer: ArrayBufferLike, byteOffset: number): PreparedTarget {
  const n = checkDotprops(dp, "target");
  const tree = KdTree.from(buffer, byteOffset);
  if (tree.n !== n || tree.leafSize !== SCORE_LEAF_SIZE) throw new RangeError(`prepared target at byte offset ${byteOffset}: a tree of ${tree.n} points for dotprops of ${n}`);
  const { vect, alpha } = slotArrays(tree, buffer, byteOffset, n);
  return { n, tree, vect, alpha, dotprops: dp, ties: new TieResolver(dp.points, tree.ids) };
}

function slotArrays(tree: KdTree, buffer: ArrayBufferLike, byteOffset: number, n: number): { vect: Float64Array; alpha: Float64Array } {
  const at = byteOffset + KdTree.byteLength(n, tree.leafSize);
  return { vect: new Float64Array(buffer, at, 3 * n), alpha: new Float64Array(buffer, at + 24 * n, n) };
}

function checkDotprops(dp: Dotprops, what: string): number {
  const n = dp.alpha.length;
  if (dp.points.length !== 3 * n || dp.vect.length !== 3 * n) {
    throw new RangeError(`${what} dotprops: ${dp.points.length / 3} points, ${dp.vect.length / 3} tangents and ${n} alpha values`);
  }
  return n;
}

/** Per score matrix: bin look-ups and the joint histogram of one pair. */
class Binner {
  readonly smat: ScoreMatrix;
  readonly dist: BinLookup;
  readonly dot: BinLookup;
  readonly nrow: number;
  readonly ncol: number;
  readonly counts: Int32Array;

  constructor(smat: ScoreMatrix) {
    this.smat = smat;
    this.dist = new BinLookup(smat.distBreaks);
    this.dot = new BinLookup(smat.dotBreaks);
    this.nrow = smat.distBreaks.length - 1;
    this.ncol = smat.dotBreaks.length - 1;
    if (smat.values.length !== this.nrow * this.ncol) {
      throw new RangeError(`score matrix ${smat.name}: ${smat.values.length} values for ${this.nrow} x ${this.ncol} bins`);
    }
    this.counts = new Int32Array(this.nrow * this.ncol);
  }

  /** sum(smat * counts) exactly as R adds it (column-major, long double), leaving the counts cleared. */
  sumAndClear(): number {
    const counts = this.counts;
    const values = this.smat.values;
    const nrow = this.nrow;
    const ncol = this.ncol;
    let hi = 0;
    let lo = 0;
    for (let c = 0; c < ncol; c++) {
      for (let r = 0, k = c; r < nrow; r++, k += ncol) {
        const cnt = counts[k];
        // Empty cells add (+/-)0, which leaves a long double sum unchanged.
        if (cnt === 0) continue;
        counts[k] = 0;
        ldAdd(hi, lo, values[k] * cnt);
        hi = ldHi();
        lo = ldLo();
      }
    }
    return hi;
  }
}

const binners = new WeakMap<ScoreMatrix, Binner>();
let lastBinner: Binner | undefined;

function binnerFor(smat: ScoreMatrix): Binner {
  if (lastBinner !== undefined && lastBinner.smat === smat) return lastBinner;
  let b = binners.get(smat);
  if (b === undefined) {
    b = new Binner(smat);
    binners.set(smat, b);
  }
  lastBinner = b;
  return b;
}

// Scratch buffers, grown on demand, so that scoring allocates nothing per pair.
let scratchPoints: Float64Array = new Float64Array(0);
let scratchVect: Float64Array = new Float64Array(0);
let scratchAlpha: Float64Array = new Float64Array(0);
let scratchDist: Float64Array = new Float64Array(0);
let scratchDot: Float64Array = new Float64Array(0);
let scratchProd: Float64Array = new Float64Array(0);
let scratchSlot = new Int32Array(0);

// A double dot product of unit vectors is within 2^-52 of R's long-double one.
const NEAR_BREAK = 1e-15;

/** True if x is so close to an inner break next to its bin that R's rounding could decide the bin. */
function nearInnerBreak(x: number, bin: number, lookup: BinLookup): boolean {
  const b = lookup.breaks;
  return (bin > 0 && x - b[bin] < NEAR_BREAK) || (bin < lookup.last && b[bin + 1] - x < NEAR_BREAK);
}

function grow(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(Math.max(n, 2 * a.length));
}

/**
 * Raw NBLAST score of `query` against `target`. Query arrays may be Float32 or
 * Float64; the loop itself always reads Float64 (float32 input is widened into
 * a scratch buffer) so it stays monomorphic.
 *
 * The query may also be given prepared (its own tree, as the worker has it for most
 * neurons): its points are then taken in tree order, where consecutive points are
 * closer than along the neurite, so each search starts nearer its answer. The score is
 * the same to the bit: the histogram does not depend on the order points are counted in.
 */
export function rawScore(query: Dotprops | PreparedTarget, target: PreparedTarget, smat: ScoreMatrix, useAlpha: boolean): number {
  if ("tree" in query) {
    const nq = query.n;
    if (nq === 0) return 0;
    if (target.n === 0) throw new RangeError("target dotprops has no points");
    const binner = binnerFor(smat);
    const qp = query.tree.coords;
    return useAlpha ? scoreAlpha(qp, query.vect, query.alpha, nq, target, binner) : scorePlain(qp, query.vect, nq, target, binner);
  }
  const nq = checkDotprops(query, "query");
  if (nq === 0) return 0;
  if (target.n === 0) throw new RangeError("target dotprops has no points");
  const binner = binnerFor(smat);

  let qp: Float64Array;
  if (query.points instanceof Float64Array) qp = query.points;
  else {
    scratchPoints = grow(scratchPoints, 3 * nq);
    qp = widen(query.points, scratchPoints);
  }
  let qv: Float64Array;
  if (query.vect instanceof Float64Array) qv = query.vect;
  else {
    scratchVect = grow(scratchVect, 3 * nq);
    qv = widen(query.vect, scratchVect);
  }
  if (!useAlpha) return scorePlain(qp, qv, nq, target, binner);

  let qa: Float64Array;
  if (query.alpha instanceof Float64Array) qa = query.alpha;
  else {
    scratchAlpha = grow(scratchAlpha, nq);
    qa = widen(query.alpha, scratchAlpha);
  }
  return scoreAlpha(qp, qv, qa, nq, target, binner);
}

function widen(src: Vec3Array, dst: Float64Array): Float64Array {
  for (let i = 0; i < src.length; i++) dst[i] = src[i];
  return dst;
}

function scorePlain(qp: Float64Array, qv: Float64Array, nq: number, target: PreparedTarget, binner: Binner): number {
  const tree = target.tree;
  const tv = target.vect;
  const distBins = binner.dist;
  const dotBins = binner.dot;
  const counts = binner.counts;
  const ncol = binner.ncol;
  const ties = target.ties;
  for (let i = 0, j = 0; i < nq; i++, j += 3) {
    let s = 3 * tree.nearestSlot(qp[j], qp[j + 1], qp[j + 2]);
    let d2 = tree.lastDist2;
    if (tree.lastTie) {
      s = 3 * ties.nearestSlot(qp[j], qp[j + 1], qp[j + 2]);
      d2 = ties.lastDist2;
    }
    const d = Math.sqrt(d2);
    let dot = tv[s] * qv[j] + tv[s + 1] * qv[j + 1] + tv[s + 2] * qv[j + 2];
    if (dot < 0) dot = -dot;
    let db = dotBins.bin(dot);
    if (nearInnerBreak(dot, db, dotBins)) {
      dot = Math.abs(ldSum3(tv[s] * qv[j], tv[s + 1] * qv[j + 1], tv[s + 2] * qv[j + 2]));
      db = dotBins.bin(dot);
    }
    counts[distBins.bin(d) * ncol + db]++;
  }
  return binner.sumAndClear();
}

function scoreAlpha(qp: Float64Array, qv: Float64Array, qa: Float64Array, nq: number, target: PreparedTarget, binner: Binner): number {
  const tree = target.tree;
  const tv = target.vect;
  const ta = target.alpha;
  scratchDist = grow(scratchDist, nq);
  scratchDot = grow(scratchDot, nq);
  scratchProd = grow(scratchProd, nq);
  if (scratchSlot.length < nq) scratchSlot = new Int32Array(Math.max(nq, 2 * scratchSlot.length));
  const slots = scratchSlot;
  const dist = scratchDist;
  const dots = scratchDot;
  const prod = scratchProd;
  // zapsmall rounds all products of the pair to digits set by the largest one, so two passes.
  let mx = 0;
  let anyFinite = false;
  const ties = target.ties;
  for (let i = 0, j = 0; i < nq; i++, j += 3) {
    let slot = tree.nearestSlot(qp[j], qp[j + 1], qp[j + 2]);
    let d2 = tree.lastDist2;
    if (tree.lastTie) {
      slot = ties.nearestSlot(qp[j], qp[j + 1], qp[j + 2]);
      d2 = ties.lastDist2;
    }
    const s = 3 * slot;
    slots[i] = slot;
    dist[i] = Math.sqrt(d2);
    const dot = tv[s] * qv[j] + tv[s + 1] * qv[j + 1] + tv[s + 2] * qv[j + 2];
    dots[i] = dot < 0 ? -dot : dot;
    const p = ta[slot] * qa[i];
    prod[i] = p;
    const a = p < 0 ? -p : p;
    if (a === a) {
      anyFinite = true;
      if (a > mx) mx = a;
    }
  }
  const digits = anyFinite ? zapsmallDigits(mx) : 7;
  const distBins = binner.dist;
  const dotBins = binner.dot;
  const counts = binner.counts;
  const ncol = binner.ncol;
  for (let i = 0; i < nq; i++) {
    const factor = Math.sqrt(roundR(prod[i], digits));
    let scaled = dots[i] * factor;
    // R's findInterval gives NA for NaN and tabulate() drops it: the point does not count.
    if (scaled !== scaled) continue;
    let db = dotBins.bin(scaled);
    if (nearInnerBreak(scaled, db, dotBins)) {
      const s = 3 * slots[i];
      const j = 3 * i;
      scaled = Math.abs(ldSum3(tv[s] * qv[j], tv[s + 1] * qv[j + 1], tv[s + 2] * qv[j + 2])) * factor;
      db = dotBins.bin(scaled);
    }
    counts[distBins.bin(dist[i]) * ncol + db]++;
  }
  return binner.sumAndClear();
}

/** Raw score of a neuron against itself (the denominator of normalised scores). */
export function selfScore(dp: Dotprops, smat: ScoreMatrix, useAlpha: boolean, prepared?: PreparedTarget): number {
  const p = prepared ?? prepareTarget(dp);
  return rawScore(p, p, smat, useAlpha);
}

export interface AllByAllOptions {
  /** Default: SMAT_ALPHA_FCWB with useAlpha, else SMAT_FCWB (as nat.nblast). */
  smat?: ScoreMatrix;
  useAlpha?: boolean;
  /** Default "raw". */
  normalization?: Normalization;
}

/**
 * Scores of every query against every target, row-major with rows = queries:
 * result[i * targets.length + j] = score(queries[i], targets[j]). One thread,
 * one tree per neuron; meant for tests and small runs.
 */
export function scoreAllByAll(queries: readonly Dotprops[], targets: readonly Dotprops[], opts: AllByAllOptions = {}): Float64Array {
  const useAlpha = opts.useAlpha ?? false;
  const smat = opts.smat ?? (useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB);
  const mode = opts.normalization ?? "raw";
  const nq = queries.length;
  const nt = targets.length;
  const preparedTargets = targets.map(prepareTarget);
  // Queries that are also targets are scored prepared (points in tree order, as the worker
  // does); the others as plain dotprops. Both give the same bits.
  const preparedQueries = queries.map((q) => {
    const j = targets.indexOf(q);
    return j >= 0 ? preparedTargets[j] : undefined;
  });
  const out = new Float64Array(nq * nt);
  for (let i = 0; i < nq; i++) {
    const q = preparedQueries[i] ?? queries[i];
    for (let j = 0; j < nt; j++) out[i * nt + j] = rawScore(q, preparedTargets[j], smat, useAlpha);
  }
  if (!needsSelfScores(mode)) return out;

  const symmetric = isSymmetricMode(mode);
  const queryTrees = queries.map((q, i) => preparedQueries[i] ?? prepareTarget(q));
  const querySelf = queryTrees.map((p) => rawScore(p, p, smat, useAlpha));
  const targetSelf = symmetric ? preparedTargets.map((p) => rawScore(p, p, smat, useAlpha)) : [];
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nt; j++) {
      const k = i * nt + j;
      const reverse = symmetric ? rawScore(preparedTargets[j], queryTrees[i], smat, useAlpha) : NaN;
      out[k] = combineScores(mode, out[k], reverse, querySelf[i], targetSelf[j] ?? NaN);
    }
  }
  return out;
}
