/**
 * R's zapsmall() and round(x, digits), which nat.nblast applies to the alpha
 * products of a query/target pair before taking their square root. Reproducing
 * R's rounding exactly matters: a product rounded one unit differently in its
 * 7th digit can move a |dot| across a bin break.
 */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const MAX10E = 308; // DBL_MAX_10_EXP
const DBL_DIG = 15;
const LOG10_2 = 0.301029995663981195213738894724; // M_LOG10_2

/** C's logb: the unbiased binary exponent of a finite x != 0. */
function logb(x: number): number {
  f64[0] = x;
  const e = (u32[HI] >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  // Subnormal: scale into the normal range first.
  f64[0] = x * 2 ** 64;
  return ((u32[HI] >>> 20) & 0x7ff) - 1023 - 64;
}

/** R's R_pow_di(x, n): x^n by repeated squaring, as R computes 10^digits. */
export function powDi(x: number, n: number): number {
  let xn = 1;
  if (Number.isNaN(x)) return x;
  if (n !== 0) {
    if (!Number.isFinite(x)) return Math.pow(x, n);
    const neg = n < 0;
    if (neg) n = -n;
    for (;;) {
      if (n & 1) xn *= x;
      n >>= 1;
      if (n) x *= x;
      else break;
    }
    if (neg) xn = 1 / xn;
  }
  return xn;
}

/**
 * R's round(x, digits) (R >= 4.0.0, src/nmath/fround.c): of the two neighbours
 * with `digits` decimals, the one nearer to x as doubles, ties to the even one.
 */
export function roundR(x: number, digits: number): number {
  if (Number.isNaN(x) || Number.isNaN(digits)) return x + digits;
  if (!Number.isFinite(x)) return x;
  if (digits > MAX10E + DBL_DIG || x === 0) return x;
  if (digits < -MAX10E) return 0;
  if (digits === 0) return roundHalfEven(x);
  const dig = Math.floor(digits + 0.5);
  let sgn = 1;
  if (x < 0) {
    sgn = -1;
    x = -x;
  }
  const l10x = LOG10_2 * (0.5 + logb(x));
  if (l10x + dig > DBL_DIG) return sgn * x;
  let x10: number, i10: number, xd: number, xu: number;
  if (dig <= MAX10E) {
    const pow10 = powDi(10, dig);
    x10 = x * pow10;
    i10 = Math.floor(x10);
    xd = i10 / pow10;
    xu = Math.ceil(x10) / pow10;
  } else {
    const p10 = powDi(10, dig - MAX10E);
    const pow10 = powDi(10, MAX10E);
    x10 = x * pow10 * p10;
    i10 = Math.floor(x10);
    xd = i10 / pow10 / p10;
    xu = Math.ceil(x10) / pow10 / p10;
  }
  const du = xu - x;
  const dd = x - xd;
  return sgn * (du < dd || (i10 % 2 === 1 && du === dd) ? xu : xd);
}

/** C's nearbyint in the default rounding mode: halves go to the even integer. */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // halves up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The `digits` zapsmall(x) passes to round() for a vector whose largest finite
 * |x| is maxAbs (R's default digits = getOption("digits") = 7).
 */
export function zapsmallDigits(maxAbs: number, digits = 7): number {
  return maxAbs > 0 ? Math.max(0, digits - Math.ceil(Math.log10(maxAbs))) : digits;
}

/** R's zapsmall(x) applied to x[0..n-1] in place (NaN stays NaN and is ignored for the maximum). */
export function zapsmallInPlace(x: Float64Array, n = x.length, digits = 7): void {
  let mx = 0;
  let any = false;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[i]);
    if (a === a) {
      any = true;
      if (a > mx) mx = a;
    }
  }
  if (!any) return;
  const d = zapsmallDigits(mx, digits);
  for (let i = 0; i < n; i++) x[i] = roundR(x[i], d);
}
