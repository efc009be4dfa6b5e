/**
 * R sums doubles in C `long double` (rowSums, cumsum, sum). On x86-64, where R is
 * normally built, that is the x87 80-bit format: every addition is rounded to a
 * 64-bit significand, and the total is rounded to a double at the end. Resampling a
 * skeleton the way nat does depends on these sums (edge lengths, cumulative arc
 * length), so to land on the same points to the last bit we emulate them here.
 *
 * A running value A (at most 64 significant bits) is kept as hi + lo exactly, with
 * hi = A rounded to a double, which is what R's `(double) sum` returns.
 * Each addition is done exactly with error-free transformations and rounded to the
 * 64-bit grid with ties to even. The rare sums that land within 2^-30 of a rounding
 * tie or next to a power of two, and values outside 2^-900..2^1000, take an exact
 * BigInt path instead.
 *
 * (R on arm64, where `long double` is a double, or built with --disable-long-double,
 * differs from x86-64 R, and so from this, by an ulp now and then.)
 */

let outHi = 0;
let outLo = 0;

const TWO_POW_63 = 2 ** 63;
const TIE_MARGIN = 2 ** -30;
const TINY = 2 ** -900;
const HUGE = 2 ** 1000;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const u64 = new BigUint64Array(f64.buffer);
/** Index of the 32-bit word holding sign and exponent. */
const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Adds x to the long double accumulator (hi, lo), which must satisfy the invariant
 * above (start from (0, 0)). Read the result with ldHi() / ldLo().
 */
export function ldAdd(hi: number, lo: number, x: number): void {
  if (hi === 0) {
    // 0 + x is exact: x has 53 bits.
    outHi = x;
    outLo = 0;
    return;
  }
  if (x === 0) {
    outHi = hi;
    outLo = lo;
    return;
  }
  // T = hi + lo + x exactly, as h + m + e (TwoSum three times).
  const s = hi + x;
  let bb = s - hi;
  const e1 = hi - (s - bb) + (x - bb);
  const t = lo + e1;
  bb = t - lo;
  const e = lo - (t - bb) + (e1 - bb);
  const h = s + t;
  bb = h - s;
  const m = s - (h - bb) + (t - bb);

  const ah = Math.abs(h);
  if (!(ah > TINY && ah < HUGE)) return exactAdd(hi, lo, x);
  const ph = powerOfTwoAtOrBelow(ah);
  // Next to a power of two T may belong to the binade below h's.
  if (ah === ph && (m !== 0 || e !== 0)) return exactAdd(hi, lo, x);
  // The 64-bit grid at T is u = 2^(E-63); h is an even multiple of u, so only m + e
  // need rounding, and |m + e| <= 2^10 u.
  const u = ph / TWO_POW_63;
  const y = m / u + e / u;
  const f = Math.floor(y);
  const fr = y - f;
  if (Math.abs(fr - 0.5) < TIE_MARGIN) return exactAdd(hi, lo, x);
  const ku = (fr < 0.5 ? f : f + 1) * u;
  outHi = h + ku;
  bb = outHi - h;
  outLo = h - (outHi - bb) + (ku - bb);
}

/** The accumulator after the last ldAdd, rounded to a double: R's `(double) sum`. */
export function ldHi(): number {
  return outHi;
}

/** The accumulator after the last ldAdd minus ldHi(), exactly. */
export function ldLo(): number {
  return outLo;
}

/** R's rowSums of one row (a, b, c): ((0 + a) + b) + c in long double, then a double. */
export function ldSum3(a: number, b: number, c: number): number {
  ldAdd(a, 0, b);
  ldAdd(outHi, outLo, c);
  return outHi;
}

/**
 * (double) (A / k) for the long double A = hi + lo (an ldAdd result) and an integer
 * 1 <= k < 2^26: the quotient rounded to a 64-bit significand (x87 division), then to a
 * double. This is how R's rowMeans ends: a long double row sum divided by the count.
 *
 * The quotient is q0 + t * ulp(q0) with q0 = hi / k; its remainder is computed exactly
 * (Dekker's product of q0 and k), so t is known to about 2^-50. Unless t lies within
 * 2^-9 of a half-integer (where the two roundings may differ from one), the result is
 * q0 moved by round(t) ulps; otherwise, and for extreme values, an exact BigInt path.
 */
export function ldDivInt(hi: number, lo: number, k: number): number {
  const q0 = hi / k;
  const aq = Math.abs(q0);
  if (!(aq > TINY && aq < HUGE)) return exactDivInt(hi, lo, k);
  const pu = powerOfTwoAtOrBelow(aq);
  if (aq === pu) return exactDivInt(hi, lo, k); // the grid is finer just below q0
  // TwoProduct(q0, k) with Veltkamp's split of q0 (k fits in 26 bits, so it needs none).
  const p = q0 * k;
  const c = SPLITTER * q0;
  const qh = c - (c - q0);
  const ql = q0 - qh;
  const pe = qh * k - p + ql * k;
  const r = hi - p - pe + lo;
  const u = pu * 2 ** -52;
  const t = r / k / u;
  const n = Math.round(t);
  if (Math.abs(Math.abs(t - n) - 0.5) < 2 ** -9) return exactDivInt(hi, lo, k);
  return q0 + n * u;
}

const SPLITTER = 2 ** 27 + 1;

function exactDivInt(hi: number, lo: number, k: number): number {
  const total = toUnits(hi) + toUnits(lo);
  if (total === 0n) return hi / k;
  const neg = total < 0n;
  const a = neg ? -total : total;
  const kk = BigInt(k);
  // Scale so that the integer quotient has at least 66 bits, then round it to 64 with the
  // remainder as a sticky bit, ties to even; Number() then rounds to 53 bits as the cast does.
  const shift = Math.max(0, 66 - (a.toString(2).length - kk.toString(2).length));
  const num = a << BigInt(shift);
  const q = num / kk;
  const sticky = num % kk !== 0n;
  const drop = q.toString(2).length - 64;
  let m = q >> BigInt(drop);
  const rest = q & ((1n << BigInt(drop)) - 1n);
  const half = 1n << BigInt(drop - 1);
  if (rest > half || (rest === half && (sticky || (m & 1n) === 1n))) m += 1n;
  const v = mulPow2(Number(m), drop - shift - 1074);
  return neg ? -v : v;
}

/** Largest power of two <= v, for positive normal v. */
function powerOfTwoAtOrBelow(v: number): number {
  f64[0] = v;
  u32[HIGH_WORD] &= 0xfff00000;
  u32[1 - HIGH_WORD] = 0;
  return f64[0];
}

// ---- exact path --------------------------------------------------------------

const MANT_MASK = (1n << 52n) - 1n;

/** A finite double as an integer count of 2^-1074. */
function toUnits(d: number): bigint {
  f64[0] = d;
  const bits = u64[0];
  const expField = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & MANT_MASK;
  if (expField !== 0) mant |= 1n << 52n;
  const mag = mant << BigInt(expField === 0 ? 0 : expField - 1);
  return bits >> 63n === 1n ? -mag : mag;
}

/** v * 2^e without an intermediate overflow or underflow. */
function mulPow2(v: number, e: number): number {
  while (e > 1000) {
    v *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    v *= 2 ** -1000;
    e += 1000;
  }
  return v * 2 ** e;
}

function exactAdd(hi: number, lo: number, x: number): void {
  const approx = hi + lo + x;
  if (!Number.isFinite(approx)) {
    outHi = approx;
    outLo = 0;
    return;
  }
  const total = toUnits(hi) + toUnits(lo) + toUnits(x);
  const neg = total < 0n;
  let q = neg ? -total : total;
  const bits = q.toString(2).length;
  let shift = 0;
  if (bits > 64) {
    shift = bits - 64;
    const big = BigInt(shift);
    const rest = q & ((1n << big) - 1n);
    q >>= big;
    const half = 1n << (big - 1n);
    if (rest > half || (rest === half && (q & 1n) === 1n)) q += 1n;
  }
  // q < 2^65: Number() rounds it to 53 bits with ties to even, as the cast does.
  const qh = Number(q);
  const h = mulPow2(qh, shift - 1074);
  const l = mulPow2(Number(q - BigInt(qh)), shift - 1074);
  outHi = neg ? -h : h;
  outLo = neg ? -l : l;
}
