/**
 * Score rows held column-wise in typed arrays, never one object per row: one BigInt64Array
 * per id column and one Float32Array per score column.
 *
 * Ids are int64 (0 to 2^63 - 1): exact for every id, FlyWire root ids (about 7.2e17, past a
 * double's 2^53) included. Reading a BigInt64Array element allocates a heap BigInt in V8,
 * so every loop over rows here (validate, sort, filter, cap, merge, print) works on the
 * columns' Uint32 "words" views instead (src/ids/words.ts): comparing, copying and testing
 * an id reads two 32-bit numbers and allocates nothing. The id columns go to the Parquet
 * encoder as they are.
 *
 * Scores are float32 from the moment they are pushed (the Float32Array store is the
 * Math.fround rounding), so every later decision (threshold, top N, sort of ties) sees
 * exactly the value that ends up on disk.
 */
import { compareIdAt, copyIdAt, formatIdAt, idWords, isIdAt, sameIdAt } from "../ids/index.ts";

export interface ScoreRows {
  queryId: BigInt64Array;
  targetId: BigInt64Array;
  score: Float32Array;
  /** Normalised forward score (query -> target); present together with `reverse` or not at all. */
  forward?: Float32Array;
  reverse?: Float32Array;
  /** Every array has exactly this many elements (they may be views on larger buffers). */
  length: number;
}

/** True when the rows carry the forward and reverse columns. */
export function hasComponents(rows: ScoreRows): boolean {
  return rows.forward !== undefined && rows.reverse !== undefined;
}

export function emptyRows(components: boolean): ScoreRows {
  return allocRows(0, components);
}

export function allocRows(n: number, components: boolean): ScoreRows {
  const rows: ScoreRows = {
    queryId: new BigInt64Array(n),
    targetId: new BigInt64Array(n),
    score: new Float32Array(n),
    length: n,
  };
  if (components) {
    rows.forward = new Float32Array(n);
    rows.reverse = new Float32Array(n);
  }
  return rows;
}

/** Zero-copy view of rows [start, end). */
export function sliceRows(rows: ScoreRows, start: number, end: number): ScoreRows {
  const out: ScoreRows = {
    queryId: rows.queryId.subarray(start, end),
    targetId: rows.targetId.subarray(start, end),
    score: rows.score.subarray(start, end),
    length: end - start,
  };
  if (rows.forward && rows.reverse) {
    out.forward = rows.forward.subarray(start, end);
    out.reverse = rows.reverse.subarray(start, end);
  }
  return out;
}

/** New rows made of `rows[index[i]]` for i in [0, count). */
export function gatherRows(rows: ScoreRows, index: Uint32Array, count: number): ScoreRows {
  const components = hasComponents(rows);
  const out = allocRows(count, components);
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  const oq = idWords(out.queryId), ot = idWords(out.targetId);
  const { score } = rows;
  for (let i = 0; i < count; i++) {
    const j = index[i];
    copyIdAt(oq, i, q, j);
    copyIdAt(ot, i, t, j);
    out.score[i] = score[j];
  }
  if (components) {
    const f = rows.forward!, r = rows.reverse!, of = out.forward!, or = out.reverse!;
    for (let i = 0; i < count; i++) {
      of[i] = f[index[i]];
      or[i] = r[index[i]];
    }
  }
  return out;
}

/** "(query 12, target 34)" for messages. */
export function pairText(rows: ScoreRows, i: number): string {
  return `(query ${formatIdAt(idWords(rows.queryId), i)}, target ${formatIdAt(idWords(rows.targetId), i)})`;
}

/**
 * Checks the invariants every stored row obeys: equal column lengths, both or neither
 * component column, ids from 0 to 2^63 - 1, finite float32 scores. Throws RangeError
 * naming the first bad row (these come from our own computation, so they are bugs, not
 * user input).
 */
export function validateRows(rows: ScoreRows): void {
  const n = rows.length;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`score rows: bad length ${n}`);
  if ((rows.forward === undefined) !== (rows.reverse === undefined)) {
    throw new RangeError("score rows: forward and reverse must be both present or both absent");
  }
  const cols: Array<[string, { length: number } | undefined]> = [
    ["query_id", rows.queryId], ["target_id", rows.targetId], ["score", rows.score],
    ["forward", rows.forward], ["reverse", rows.reverse],
  ];
  for (const [name, col] of cols) {
    if (col !== undefined && col.length !== n) {
      throw new RangeError(`score rows: column ${name} has ${col.length} values, expected ${n}`);
    }
  }
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  for (let i = 0; i < n; i++) {
    if (!isIdAt(q, i) || !isIdAt(t, i)) throw new RangeError(`score rows: row ${i} has a negative id ${pairText(rows, i)}`);
  }
  for (const col of [rows.score, rows.forward, rows.reverse]) {
    if (col === undefined) continue;
    const name = col === rows.score ? "score" : col === rows.forward ? "forward" : "reverse";
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v - v !== 0) throw new RangeError(`score rows: row ${i} ${pairText(rows, i)} has ${name} ${v}; scores must be finite`);
    }
  }
}

/** Index of the first row that is not strictly after its predecessor, or -1 when sorted. */
export function firstUnsorted(rows: ScoreRows): number {
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  const n = rows.length;
  for (let i = 1; i < n; i++) {
    const c = compareIdAt(q, i, q, i - 1);
    if (c < 0 || (c === 0 && compareIdAt(t, i, t, i - 1) <= 0)) return i;
  }
  return -1;
}

/**
 * Rows sorted by (query_id, target_id): the same object when already sorted (the usual
 * case, as workers loop query-major), else a sorted copy. Duplicate pairs are an error:
 * a shard must say one thing about each pair.
 */
export function sortRows(rows: ScoreRows): ScoreRows {
  const bad = firstUnsorted(rows);
  if (bad < 0) return rows;
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  const n = rows.length;
  const index = new Uint32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  index.sort((a, b) => compareIdAt(q, a, q, b) || compareIdAt(t, a, t, b));
  const sorted = gatherRows(rows, index, n);
  const dup = firstUnsorted(sorted);
  if (dup >= 0) throw new RangeError(`score rows: duplicate pair ${pairText(sorted, dup)}`);
  return sorted;
}

/** True when row i is a neuron with itself. */
export function isSelfRow(q: Uint32Array, t: Uint32Array, i: number): boolean {
  return sameIdAt(q, i, t, i);
}

/**
 * Growable column store: push rows one at a time into typed arrays that double when full.
 * `push` validates as it goes (a NaN score is a bug best caught at the row that made it).
 */
export class RowsBuilder {
  readonly components: boolean;
  private q: BigInt64Array;
  private t: BigInt64Array;
  private qw: Uint32Array;
  private tw: Uint32Array;
  private s: Float32Array;
  private f: Float32Array | undefined;
  private r: Float32Array | undefined;
  private n = 0;

  constructor(components = false, initialCapacity = 1024) {
    const cap = Math.max(1, Math.floor(initialCapacity));
    this.components = components;
    this.q = new BigInt64Array(cap);
    this.t = new BigInt64Array(cap);
    this.qw = idWords(this.q);
    this.tw = idWords(this.t);
    this.s = new Float32Array(cap);
    this.f = components ? new Float32Array(cap) : undefined;
    this.r = components ? new Float32Array(cap) : undefined;
  }

  get length(): number {
    return this.n;
  }

  /** One row by its ids (bigints: for tools and tests; hot loops use pushFrom). */
  push(queryId: bigint, targetId: bigint, score: number, forward?: number, reverse?: number): void {
    if (typeof queryId !== "bigint" || typeof targetId !== "bigint" || queryId < 0n || targetId < 0n || queryId >= 1n << 63n || targetId >= 1n << 63n) {
      throw new RangeError(`RowsBuilder.push: ids must be integers from 0 to 2^63 - 1, got (${String(queryId)}, ${String(targetId)})`);
    }
    const i = this.n;
    if (i === this.s.length) this.grow(i * 2);
    this.q[i] = queryId;
    this.t[i] = targetId;
    this.setScores(i, score, forward, reverse);
  }

  /**
   * One row whose ids are ids[query] and ids[target] of an id column (given by its words),
   * copied word by word: no BigInt is made. The column holds valid ids (checked when it was made).
   */
  pushFrom(ids: Uint32Array, query: number, target: number, score: number, forward?: number, reverse?: number): void {
    const i = this.n;
    if (i === this.s.length) this.grow(i * 2);
    copyIdAt(this.qw, i, ids, query);
    copyIdAt(this.tw, i, ids, target);
    this.setScores(i, score, forward, reverse);
  }

  private setScores(i: number, score: number, forward: number | undefined, reverse: number | undefined): void {
    this.s[i] = score;
    // x - x is 0 only for finite x; checked after the float32 store so overflow to ±Infinity is caught too
    if (this.s[i] - this.s[i] !== 0) throw this.nonFinite(i, "score", score);
    if (this.components) {
      if (forward === undefined || reverse === undefined) {
        throw new RangeError("RowsBuilder.push: this builder keeps forward and reverse scores; both are required");
      }
      this.f![i] = forward;
      this.r![i] = reverse;
      if (this.f![i] - this.f![i] !== 0) throw this.nonFinite(i, "forward", forward);
      if (this.r![i] - this.r![i] !== 0) throw this.nonFinite(i, "reverse", reverse);
    }
    this.n = i + 1;
  }

  /** Appends rows [start, end) of `rows` (component columns ignored when this builder has none). */
  append(rows: ScoreRows, start = 0, end = rows.length): void {
    const count = end - start;
    if (count <= 0) return;
    if (this.components && !hasComponents(rows)) {
      throw new RangeError("RowsBuilder.append: rows lack forward and reverse scores");
    }
    const need = this.n + count;
    if (need > this.s.length) this.grow(Math.max(need, this.s.length * 2));
    this.q.set(rows.queryId.subarray(start, end), this.n);
    this.t.set(rows.targetId.subarray(start, end), this.n);
    this.s.set(rows.score.subarray(start, end), this.n);
    if (this.components) {
      this.f!.set(rows.forward!.subarray(start, end), this.n);
      this.r!.set(rows.reverse!.subarray(start, end), this.n);
    }
    this.n = need;
  }

  /** Forget the rows but keep the buffers, for reuse. */
  clear(): void {
    this.n = 0;
  }

  /** Views of the pushed rows (no copy). Later pushes leave them intact; clear() does not. */
  finish(): ScoreRows {
    const n = this.n;
    const rows: ScoreRows = {
      queryId: this.q.subarray(0, n),
      targetId: this.t.subarray(0, n),
      score: this.s.subarray(0, n),
      length: n,
    };
    if (this.components) {
      rows.forward = this.f!.subarray(0, n);
      rows.reverse = this.r!.subarray(0, n);
    }
    return rows;
  }

  private grow(cap: number): void {
    const q = new BigInt64Array(cap);
    q.set(this.q.subarray(0, this.n));
    this.q = q;
    this.qw = idWords(q);
    const t = new BigInt64Array(cap);
    t.set(this.t.subarray(0, this.n));
    this.t = t;
    this.tw = idWords(t);
    this.s = growF32(this.s, cap, this.n);
    if (this.components) {
      this.f = growF32(this.f!, cap, this.n);
      this.r = growF32(this.r!, cap, this.n);
    }
  }

  private nonFinite(i: number, name: string, v: number): RangeError {
    return new RangeError(
      `RowsBuilder.push: ${name} ${v} for (query ${formatIdAt(this.qw, i)}, target ${formatIdAt(this.tw, i)}) is not a finite float32; scores must be finite`,
    );
  }
}

function growF32(a: Float32Array, cap: number, n: number): Float32Array {
  const b = new Float32Array(cap);
  b.set(a.subarray(0, n));
  return b;
}
