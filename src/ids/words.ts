/**
 * Id columns without BigInt allocations. Ids are held in BigInt64Array (exact to 2^63 - 1),
 * but V8 allocates a heap BigInt for every element it reads from one, which loops over
 * millions of rows (sorting, merging, filtering, printing) cannot afford. So hot loops go
 * through a Uint32Array view of the same bytes ("words"): id i is the pair
 * (high = words[2i + 1], low = words[2i]) on a little-endian machine (the only kind the
 * cache and the shards are written on; src/cache/build.ts refuses others), and two ids
 * compare as (high as int32, low as uint32). Comparing, copying, testing and printing an
 * id that way reads two numbers and allocates nothing.
 *
 * Functions take the words and an index, so a caller makes the views once per column.
 */

const TWO32 = 4294967296;

/** The words of an id column: words[2i] is the low half of ids[i], words[2i + 1] the high half. */
export function idWords(ids: BigInt64Array): Uint32Array {
  return new Uint32Array(ids.buffer, ids.byteOffset, 2 * ids.length);
}

/** -1, 0 or 1 as a[i] is below, equal to or above b[j] (int64 order). */
export function compareIdAt(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  const ah = a[2 * i + 1] | 0;
  const bh = b[2 * j + 1] | 0;
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = a[2 * i];
  const bl = b[2 * j];
  return al < bl ? -1 : al > bl ? 1 : 0;
}

export function sameIdAt(a: Uint32Array, i: number, b: Uint32Array, j: number): boolean {
  return a[2 * i] === b[2 * j] && a[2 * i + 1] === b[2 * j + 1];
}

/** dst[i] = src[j]. */
export function copyIdAt(dst: Uint32Array, i: number, src: Uint32Array, j: number): void {
  dst[2 * i] = src[2 * j];
  dst[2 * i + 1] = src[2 * j + 1];
}

/** A valid id (0 to 2^63 - 1): its high word has no sign bit. */
export function isIdAt(a: Uint32Array, i: number): boolean {
  return a[2 * i + 1] < 0x80000000;
}

/** An id split once for comparisons inside a loop: high as int32, low as uint32. */
export interface IdKey {
  readonly hi: number;
  readonly lo: number;
}

export function idKey(id: bigint): IdKey {
  return { hi: Number(BigInt.asIntN(32, id >> 32n)), lo: Number(BigInt.asUintN(32, id)) };
}

/** -1, 0 or 1 as a[i] is below, equal to or above the key. */
export function compareIdToKey(a: Uint32Array, i: number, key: IdKey): number {
  const h = a[2 * i + 1] | 0;
  if (h !== key.hi) return h < key.hi ? -1 : 1;
  const l = a[2 * i];
  return l < key.lo ? -1 : l > key.lo ? 1 : 0;
}

export function isKeyAt(a: Uint32Array, i: number, key: IdKey): boolean {
  return a[2 * i] === key.lo && (a[2 * i + 1] | 0) === key.hi;
}

/** Position of the key in ids a[0..n) sorted ascending, or -1. */
export function searchIds(a: Uint32Array, n: number, key: IdKey): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareIdToKey(a, mid, key);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** Position of b[j] in ids a[0..n) sorted ascending, or -1. */
export function searchIdAt(a: Uint32Array, n: number, b: Uint32Array, j: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareIdAt(a, mid, b, j);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -1;
}

/** a[i] as a bigint (one allocation: for the edges, not for loops over rows). */
export function idAt(a: Uint32Array, i: number): bigint {
  return BigInt.asIntN(64, (BigInt(a[2 * i + 1]) << 32n) | BigInt(a[2 * i]));
}

/**
 * a[i] in decimal. Below 2^53 (high word < 2^21) the id is a double exactly, and
 * String(number) is the fastest way to print it (about 30 ns). Above, the text is made
 * through one BigInt: V8 prints a BigInt faster than the two words can be split into
 * decimal halves with exact double arithmetic (measured 63 against 97 ns an id), and the
 * string is an allocation anyway.
 */
export function formatIdAt(a: Uint32Array, i: number): string {
  const h = a[2 * i + 1];
  if (h < 0x200000) return String(h * TWO32 + a[2 * i]);
  return idAt(a, i).toString();
}

/**
 * Writes the id that the decimal digits of `text` spell into a[i]; false (a untouched) when
 * `text` is empty, has anything but digits, or is above 2^63 - 1. No BigInt: the value is
 * built in two words, digit by digit.
 */
export function parseIdInto(text: string, a: Uint32Array, i: number): boolean {
  const n = text.length;
  if (n === 0) return false;
  let hi = 0;
  let lo = 0;
  for (let k = 0; k < n; k++) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return false;
    const l = lo * 10 + d; // < 2^36: exact
    const carry = Math.floor(l / TWO32);
    lo = l - carry * TWO32;
    hi = hi * 10 + carry;
    if (hi >= 0x80000000) return false; // beyond 2^63 - 1
  }
  a[2 * i] = lo;
  a[2 * i + 1] = hi;
  return true;
}

/** Decimal texts (already checked to be ids) as an id column; RangeError on one that is not. */
export function idsFromText(texts: readonly string[]): BigInt64Array {
  const out = new BigInt64Array(texts.length);
  const w = idWords(out);
  for (let i = 0; i < texts.length; i++) {
    if (!parseIdInto(texts[i], w, i)) throw new RangeError(`not an id: ${JSON.stringify(texts[i])}`);
  }
  return out;
}

/** An id column in decimal. */
export function idsToText(ids: BigInt64Array): string[] {
  const w = idWords(ids);
  const out = new Array<string>(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = formatIdAt(w, i);
  return out;
}

/** First i with ids[i] <= ids[i - 1] (not strictly ascending), or -1. */
export function firstNotAscending(ids: BigInt64Array): number {
  const w = idWords(ids);
  for (let i = 1; i < ids.length; i++) if (compareIdAt(w, i, w, i - 1) <= 0) return i;
  return -1;
}

/** A new id column from bigints (checked to be ids by the caller). */
export function idColumn(ids: Iterable<bigint> | ArrayLike<bigint>): BigInt64Array {
  return BigInt64Array.from(ids as Iterable<bigint>);
}
