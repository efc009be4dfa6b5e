/**
 * Decimal text for float32 values that reads back to the same float32: the fewest
 * significant digits (1..9) whose correctly rounded decimal, parsed as a double and
 * rounded to float32, is the value again. JS's own Number#toString is shortest for the
 * double, which for a widened float32 prints up to 17 digits of noise (0.1f ->
 * "0.10000000149011612"); this prints "0.1".
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function formatFloat32(v: number): string {
  if (v === 0) return Object.is(v, -0) ? "-0" : "0"; // keep the sign bit: bit-exact round trip
  if (v - v !== 0) return String(v); // NaN, ±Infinity: never stored, but print something honest
  f32[0] = v;
  if ((u32[0] & 0x7fffff) !== 0) {
    // If the nearest p-digit decimal reads back, so does the nearest (p+1)-digit one: the
    // shorter decimal is also a (p+1)-digit one and the nearest is at least as close, and
    // the rounding interval is symmetric. So the shortest length can be searched from 7
    // (scores mostly need 7 or 8 digits) in whichever direction 7 points.
    let best = readBack(v, 7);
    if (best === undefined) return canonical(readBack(v, 8) ?? v.toPrecision(9));
    for (let p = 6; p >= 1; p--) {
      const s = readBack(v, p);
      if (s === undefined) break;
      best = s;
    }
    return canonical(best);
  }
  // Powers of two have a lopsided rounding interval (the gap below is half the gap
  // above), where the argument fails: scan up from one digit.
  for (let p = 1; p < 9; p++) {
    const s = readBack(v, p);
    if (s !== undefined) return canonical(s);
  }
  return canonical(v.toPrecision(9));
}

/** v.toPrecision(digits) when it reads back to the float32 v. */
function readBack(v: number, digits: number): string | undefined {
  const s = v.toPrecision(digits);
  return Math.fround(Number(s)) === v ? s : undefined;
}

/** JS's canonical form of a short decimal ("0.2500" -> "0.25", "1.0e-7" -> "1e-7"). */
function canonical(s: string): string {
  if (s.indexOf("e") < 0) {
    // fixed notation from toPrecision is canonical once trailing fraction zeros are gone
    if (s.indexOf(".") < 0) return s;
    let end = s.length;
    while (s.charCodeAt(end - 1) === 48 /* 0 */) end--;
    if (s.charCodeAt(end - 1) === 46 /* . */) end--;
    return end === s.length ? s : s.slice(0, end);
  }
  // a decimal of at most 9 digits is exactly what the double nearest to it prints as
  return String(Number(s));
}
