/**
 * Score rows held column-wise in typed arrays: one Float64Array per id column and one
 * Float32Array per score column, never one object per row.
 *
 * Ids are kept as Float64Array rather than BigInt64Array: ids are integers below 2^53
 * (CATMAID skeleton ids, FlyWire root ids fit), so a double holds them exactly, and plain
 * numbers compare, hash and print without the BigInt heap allocation V8 makes on every
 * BigInt64Array read. They become INT64 only inside the Parquet encoder.
 *
 * Scores are float32 from the moment they are pushed (the Float32Array store is the
 * Math.fround rounding), so every later decision (threshold, top N, sort of ties) sees
 * exactly the value that ends up on disk.
 */

export interface ScoreRows {
  queryId: Float64Array;
  targetId: Float64Array;
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
    queryId: new Float64Array(n),
    targetId: new Float64Array(n),
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
  const { queryId, targetId, score } = rows;
  for (let i = 0; i < count; i++) {
    const j = index[i];
    out.queryId[i] = queryId[j];
    out.targetId[i] = targetId[j];
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

/**
 * Checks the invariants every stored row obeys: equal column lengths, both or neither
 * component column, integer ids within ±2^53, finite float32 scores. Throws RangeError
 * naming the first bad row (these come from our own computation, so they are bugs, not
 * user input).
 */
export function validateRows(rows: ScoreRows): void {
  const n = rows.length;
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`score rows: bad length ${n}`);
  if ((rows.forward === undefined) !== (rows.reverse === undefined)) {
    throw new RangeError("score rows: forward and reverse must be both present or both absent");
  }
  const cols: Array<[string, ArrayLike<number> | undefined]> = [
    ["query_id", rows.queryId], ["target_id", rows.targetId], ["score", rows.score],
    ["forward", rows.forward], ["reverse", rows.reverse],
  ];
  for (const [name, col] of cols) {
    if (col !== undefined && col.length !== n) {
      throw new RangeError(`score rows: column ${name} has ${col.length} values, expected ${n}`);
    }
  }
  const { queryId, targetId } = rows;
  for (let i = 0; i < n; i++) {
    if (!Number.isSafeInteger(queryId[i]) || !Number.isSafeInteger(targetId[i])) {
      throw new RangeError(`score rows: row ${i} has non-integer or unsafe id (${queryId[i]}, ${targetId[i]})`);
    }
  }
  for (const [name, col] of cols.slice(2)) {
    if (col === undefined) continue;
    for (let i = 0; i < n; i++) {
      const v = col[i];
      if (v - v !== 0) {
        throw new RangeError(
          `score rows: row ${i} (query ${queryId[i]}, target ${targetId[i]}) has ${name} ${v}; scores must be finite`,
        );
      }
    }
  }
}

/** -1, 0, 1 comparing (query, target) pairs. */
export function comparePairs(q1: number, t1: number, q2: number, t2: number): number {
  return q1 < q2 ? -1 : q1 > q2 ? 1 : t1 < t2 ? -1 : t1 > t2 ? 1 : 0;
}

/** Index of the first row that is not strictly after its predecessor, or -1 when sorted. */
export function firstUnsorted(rows: ScoreRows): number {
  const { queryId: q, targetId: t, length: n } = rows;
  for (let i = 1; i < n; i++) {
    if (q[i] < q[i - 1] || (q[i] === q[i - 1] && t[i] <= t[i - 1])) return i;
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
  const { queryId: q, targetId: t } = rows;
  const n = rows.length;
  const index = new Uint32Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  index.sort((a, b) => comparePairs(q[a], t[a], q[b], t[b]));
  const sorted = gatherRows(rows, index, n);
  const dup = firstUnsorted(sorted);
  if (dup >= 0) {
    throw new RangeError(
      `score rows: duplicate pair (query ${sorted.queryId[dup]}, target ${sorted.targetId[dup]})`,
    );
  }
  return sorted;
}

/**
 * Growable column store: push rows one at a time into typed arrays that double when full.
 * `push` validates as it goes (a NaN score is a bug best caught at the row that made it).
 */
export class RowsBuilder {
  readonly components: boolean;
  private q: Float64Array;
  private t: Float64Array;
  private s: Float32Array;
  private f: Float32Array | undefined;
  private r: Float32Array | undefined;
  private n = 0;

  constructor(components = false, initialCapacity = 1024) {
    const cap = Math.max(1, Math.floor(initialCapacity));
    this.components = components;
    this.q = new Float64Array(cap);
    this.t = new Float64Array(cap);
    this.s = new Float32Array(cap);
    this.f = components ? new Float32Array(cap) : undefined;
    this.r = components ? new Float32Array(cap) : undefined;
  }

  get length(): number {
    return this.n;
  }

  push(queryId: number, targetId: number, score: number, forward?: number, reverse?: number): void {
    const i = this.n;
    if (i === this.q.length) this.grow(i * 2);
    if (!Number.isSafeInteger(queryId) || !Number.isSafeInteger(targetId)) {
      throw new RangeError(`RowsBuilder.push: ids must be safe integers, got (${queryId}, ${targetId})`);
    }
    this.q[i] = queryId;
    this.t[i] = targetId;
    this.s[i] = score;
    // x - x is 0 only for finite x; checked after the float32 store so overflow to ±Infinity is caught too
    if (this.s[i] - this.s[i] !== 0) throw nonFinite("score", score, queryId, targetId);
    if (this.components) {
      if (forward === undefined || reverse === undefined) {
        throw new RangeError("RowsBuilder.push: this builder keeps forward and reverse scores; both are required");
      }
      this.f![i] = forward;
      this.r![i] = reverse;
      if (this.f![i] - this.f![i] !== 0) throw nonFinite("forward", forward, queryId, targetId);
      if (this.r![i] - this.r![i] !== 0) throw nonFinite("reverse", reverse, queryId, targetId);
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
    if (need > this.q.length) this.grow(Math.max(need, this.q.length * 2));
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
    const q = new Float64Array(cap);
    q.set(this.q.subarray(0, this.n));
    this.q = q;
    const t = new Float64Array(cap);
    t.set(this.t.subarray(0, this.n));
    this.t = t;
    this.s = growF32(this.s, cap, this.n);
    if (this.components) {
      this.f = growF32(this.f!, cap, this.n);
      this.r = growF32(this.r!, cap, this.n);
    }
  }
}

function growF32(a: Float32Array, cap: number, n: number): Float32Array {
  const b = new Float32Array(cap);
  b.set(a.subarray(0, n));
  return b;
}

function nonFinite(name: string, v: number, q: number, t: number): RangeError {
  return new RangeError(
    `RowsBuilder.push: ${name} ${v} for (query ${q}, target ${t}) is not a finite float32; scores must be finite`,
  );
}
