/**
 * The work of a run laid out as one line of unit pairs, so that a bin is a contiguous
 * stretch [u, e) of it. A stretch is turned back into a few rectangular blocks.
 *
 * rows:  query-major: position u = i * nT + j is the pair (query i, target j).
 * upper: the triangle j >= i (or j > i without the diagonal) is cut into bands of h rows;
 *        inside a band the line runs column by column, so a bin is a band-high rectangle
 *        of about h columns and meets ~2h neurons instead of all n.
 */
import { compareIdAt, idWords } from "../ids/index.ts";

export interface Chain {
  /** Number of unit pairs. */
  readonly total: number;
  /** Writes the stretch [u, e) (u < e) as [r0, r1, c0, c1] quadruples; returns how many. */
  blocks(u: number, e: number, out: Float64Array): number;
}

/** Exact floor(a / b) for non-negative integers below 2^53. */
function idiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

export class RowsChain implements Chain {
  readonly total: number;
  readonly nQ: number;
  readonly nT: number;
  /**
   * skip[i] >= 0: row i leaves out column skip[i] (the query itself among the targets,
   * when self pairs are not wanted), so no stretch consists of self pairs alone. Blocks
   * may still span that column; the layout's rule, not the block, leaves the pair out.
   */
  private readonly skip: Int32Array | undefined;
  /** Position where row i starts, when rows differ in length. */
  private readonly offsets: Float64Array | undefined;

  constructor(nQ: number, nT: number, skip?: Int32Array) {
    this.nQ = nQ;
    this.nT = nT;
    if (skip !== undefined && skip.some((s) => s >= 0)) {
      if (skip.length !== nQ) throw new Error("RowsChain: skip needs one entry per query");
      this.skip = skip;
      this.offsets = new Float64Array(nQ + 1);
      for (let i = 0; i < nQ; i++) this.offsets[i + 1] = this.offsets[i] + nT - (skip[i] >= 0 ? 1 : 0);
      this.total = this.offsets[nQ];
    } else {
      this.total = nQ * nT;
    }
    if (!Number.isSafeInteger(this.total)) throw new Error(`RowsChain: ${nQ} x ${nT} pairs is beyond 2^53`);
  }

  /** Row of position u (a row with at least one unit) and where that row starts. */
  private row(u: number): [number, number] {
    const off = this.offsets;
    if (off === undefined) {
      const r = idiv(u, this.nT);
      return [r, r * this.nT];
    }
    let lo = 0;
    let hi = this.nQ - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (off[mid] <= u) lo = mid;
      else hi = mid - 1;
    }
    return [lo, off[lo]];
  }

  /** Column of the k-th unit of row r. */
  private col(r: number, k: number): number {
    return this.skip !== undefined && this.skip[r] >= 0 && k >= this.skip[r] ? k + 1 : k;
  }

  private rowLength(r: number): number {
    return this.skip !== undefined && this.skip[r] >= 0 ? this.nT - 1 : this.nT;
  }

  blocks(u: number, e: number, out: Float64Array): number {
    const nT = this.nT;
    const [r0, s0] = this.row(u);
    const k0 = u - s0;
    const [r1, s1] = this.row(e - 1);
    const k1 = e - 1 - s1;
    if (r0 === r1) return put(out, 0, r0, r0 + 1, this.col(r0, k0), this.col(r0, k1) + 1);
    let k = 0;
    let fullStart = r0;
    if (k0 > 0) {
      k = put(out, k, r0, r0 + 1, this.col(r0, k0), nT);
      fullStart = r0 + 1;
    }
    const lastFull = k1 === this.rowLength(r1) - 1;
    const fullEnd = lastFull ? r1 + 1 : r1;
    if (fullStart < fullEnd) k = put(out, k, fullStart, fullEnd, 0, nT);
    if (!lastFull) k = put(out, k, r1, r1 + 1, 0, this.col(r1, k1) + 1);
    return k;
  }
}

/**
 * For each query, the position of the same neuron among the targets, or -1.
 * Both lists ascending by id; compared through their words (no BigInt per element).
 */
export function selfColumns(queries: BigInt64Array, targets: BigInt64Array): Int32Array {
  // one list (an all-by-all, in whatever order): each query's own column is its row
  if (queries === targets) return Int32Array.from({ length: queries.length }, (_, i) => i);
  const out = new Int32Array(queries.length).fill(-1);
  const q = idWords(queries);
  const t = idWords(targets);
  let j = 0;
  for (let i = 0; i < queries.length; i++) {
    while (j < targets.length && compareIdAt(t, j, q, i) < 0) j++;
    if (j < targets.length && compareIdAt(t, j, q, i) === 0) out[i] = j;
  }
  return out;
}

export class UpperChain implements Chain {
  readonly total: number;
  readonly n: number;
  /** Band height. */
  readonly h: number;
  /** 1 when pairs (i, i) are part of the work. */
  readonly diag: 0 | 1;
  readonly bands: number;
  /** Position where band b starts; offsets[bands] = total. */
  private readonly offsets: Float64Array;

  constructor(n: number, h: number, diagonal: boolean) {
    if (!(Number.isInteger(h) && h >= 1)) throw new Error(`UpperChain: band height must be a positive integer, got ${h}`);
    this.n = n;
    this.h = h;
    this.diag = diagonal ? 1 : 0;
    this.bands = Math.ceil(n / h);
    this.offsets = new Float64Array(this.bands + 1);
    for (let b = 0; b < this.bands; b++) this.offsets[b + 1] = this.offsets[b] + this.bandUnits(b);
    this.total = this.offsets[this.bands];
    if (!Number.isSafeInteger(this.total)) throw new Error(`UpperChain: ${n} neurons give more than 2^53 pairs`);
  }

  /** Units before column r0 + t of a band, for t <= its height. */
  private triBefore(t: number): number {
    return (t * (t - 1)) / 2 + this.diag * t;
  }

  private bandUnits(b: number): number {
    const r0 = b * this.h;
    const r1 = Math.min(this.n, r0 + this.h);
    return this.triBefore(r1 - r0) + (this.n - r1) * (r1 - r0);
  }

  /** Locates position u: band b, column j, row i. */
  private locate(u: number, at: Float64Array): void {
    const off = this.offsets;
    let lo = 0;
    let hi = this.bands - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (off[mid] <= u) lo = mid;
      else hi = mid - 1;
    }
    const b = lo;
    const r0 = b * this.h;
    const r1 = Math.min(this.n, r0 + this.h);
    const hb = r1 - r0;
    const w = u - off[b];
    const tri = this.triBefore(hb);
    let j: number;
    let i: number;
    if (w < tri) {
      // largest t with triBefore(t) <= w
      const d = this.diag;
      let t = Math.floor((1 - 2 * d + Math.sqrt((2 * d - 1) * (2 * d - 1) + 8 * w)) / 2);
      while (t > 0 && this.triBefore(t) > w) t--;
      while (this.triBefore(t + 1) <= w) t++;
      j = r0 + t;
      i = r0 + (w - this.triBefore(t));
    } else {
      const q = idiv(w - tri, hb);
      j = r1 + q;
      i = r0 + (w - tri - q * hb);
    }
    at[0] = b;
    at[1] = j;
    at[2] = i;
  }

  private readonly at0 = new Float64Array(3);
  private readonly at1 = new Float64Array(3);

  /** Rows of column j inside band [r0, r1): [r0, colEnd). */
  private colEnd(r1: number, j: number): number {
    return Math.min(r1, j + this.diag);
  }

  blocks(u: number, e: number, out: Float64Array): number {
    const s = this.at0;
    const t = this.at1;
    this.locate(u, s);
    this.locate(e - 1, t);
    const b0 = s[0];
    const b1 = t[0];
    if (b0 === b1) return this.bandBlocks(out, 0, b0, s[1], s[2], t[1], t[2]);
    const n = this.n;
    let k = this.bandBlocks(out, 0, b0, s[1], s[2], n - 1, this.colEnd(Math.min(n, (b0 + 1) * this.h), n - 1) - 1);
    if (b1 > b0 + 1) {
      const ra = (b0 + 1) * this.h;
      const rb = b1 * this.h;
      k = put(out, k, ra, Math.min(rb, n - 1 + this.diag), ra + 1 - this.diag, n);
    }
    const r0 = b1 * this.h;
    return this.bandBlocks(out, k, b1, r0 + 1 - this.diag, r0, t[1], t[2]);
  }

  /** From (column j0, row i0) to (column j1, row i1) inclusive, inside band b. */
  private bandBlocks(out: Float64Array, k: number, b: number, j0: number, i0: number, j1: number, i1: number): number {
    const r0 = b * this.h;
    const r1 = Math.min(this.n, r0 + this.h);
    if (j0 === j1) return put(out, k, i0, i1 + 1, j0, j0 + 1);
    let fullStart = j0;
    if (i0 > r0) {
      k = put(out, k, i0, this.colEnd(r1, j0), j0, j0 + 1);
      fullStart = j0 + 1;
    }
    const lastFull = i1 + 1 < this.colEnd(r1, j1);
    const fullEnd = lastFull ? j1 : j1 + 1;
    if (fullStart < fullEnd) k = put(out, k, r0, this.colEnd(r1, fullEnd - 1), fullStart, fullEnd);
    if (lastFull) k = put(out, k, r0, i1 + 1, j1, j1 + 1);
    return k;
  }
}

function put(out: Float64Array, k: number, r0: number, r1: number, c0: number, c1: number): number {
  out[4 * k] = r0;
  out[4 * k + 1] = r1;
  out[4 * k + 2] = c0;
  out[4 * k + 3] = c1;
  return k + 1;
}
