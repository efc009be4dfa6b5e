/**
 * All shards of a run as one stream sorted by (query_id, target_id).
 *
 * A k-way merge over row groups with lazy loading: every shard starts as a cursor keyed by
 * its first group's min query_id (from the footer statistics), unloaded. A group is read
 * only when the merge front reaches that key, and dropped once consumed. So shards whose
 * query ranges are disjoint (bins split by query) are simply concatenated, one group in
 * memory at a time; shards that overlap in query ids (bins split by target as well) hold
 * one group each only while the front is inside their common query range.
 *
 * Runs of rows from one cursor that precede every other cursor's key are yielded as
 * zero-copy views, valid until the consumer asks for the next one.
 */
import { compareIdToKey, idKey, idWords } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { Storage } from "../storage/types.ts";
import { sliceRows, type ScoreRows } from "./rows.ts";
import { readRowGroup, type OpenShard, type ShardInfo } from "./shard.ts";
import { mapLimit } from "./map-limit.ts";
import { listShards, openStorageShard, shardRef, type ShardRef } from "./shard-store.ts";

/** Longest run yielded at once, which bounds the size of the consumer's text or byte chunks. */
const MAX_RUN = 65_536;

export interface MergePlan {
  shards: Array<ShardRef & { info: ShardInfo }>;
  /** All shards have forward/reverse (false when none has; mixed runs are refused). */
  components: boolean;
  rows: number;
}

/**
 * Opens the shards (footers only) and checks that they agree on columns: `keys` when given
 * (the verified shards of a run's done bins, see src/worker/run-shards.ts), else every
 * shards/bin=*.parquet under `storage`.
 */
export async function planMerge(storage: Storage, concurrency = 16, keys?: readonly string[]): Promise<MergePlan> {
  const refs = keys === undefined ? await listShards(storage) : keys.map(shardRef);
  if (refs.length === 0) throw new InputError("no shards/bin=*.parquet found", { source: storage.uri });
  // keep only the small info, not the parsed footers: a run may have thousands of shards
  const shards = await mapLimit(refs, concurrency, async (ref) => ({
    ...ref,
    info: (await openStorageShard(storage, ref.key)).info,
  }));
  const withC = shards.find((s) => s.info.components);
  const without = shards.find((s) => !s.info.components);
  if (withC && without) {
    throw new InputError(
      `shards disagree on columns: ${withC.key} has forward/reverse scores, ${without.key} does not`,
      { source: storage.uri },
    );
  }
  return { shards, components: withC !== undefined, rows: shards.reduce((n, s) => n + s.info.numRows, 0) };
}

interface Cursor {
  key: string;
  /** Position in the plan: breaks ties between equal keys, so errors name shards deterministically. */
  order: number;
  info: ShardInfo;
  shard: OpenShard | undefined;
  group: number;
  rows: ScoreRows | undefined;
  pos: number;
  /** Sort key: the current row, or (group min query_id, -1) while unloaded (-1 is below every id). */
  kq: bigint;
  kt: bigint;
}

export async function* mergeShards(storage: Storage, plan: MergePlan): AsyncGenerator<ScoreRows> {
  const heap = new CursorHeap();
  for (const [order, s] of plan.shards.entries()) {
    const c: Cursor = { key: s.key, order, info: s.info, shard: undefined, group: -1, rows: undefined, pos: 0, kq: 0n, kt: 0n };
    if (nextGroup(c)) heap.push(c);
  }
  let lastQ = -1n;
  let lastT = -1n;
  let lastKey = "";
  while (heap.size > 0) {
    const c = heap.pop();
    if (c.rows === undefined) {
      c.shard ??= await openStorageShard(storage, c.key);
      c.rows = await readRowGroup(c.shard, c.info.rowGroups[c.group], { components: plan.components });
      c.pos = 0;
      c.kq = c.rows.queryId[0];
      c.kt = c.rows.targetId[0];
      heap.push(c);
      continue;
    }
    const { queryId, targetId, length: n } = c.rows;
    // bigints once per run of rows; the per-row loop below compares words
    const q0 = queryId[c.pos], t0 = targetId[c.pos];
    if (q0 < lastQ || (q0 === lastQ && t0 <= lastT)) {
      const what = q0 === lastQ && t0 === lastT ? "appears in both" : "is out of order between";
      throw new InputError(`pair (query ${q0}, target ${t0}) ${what} ${lastKey} and ${c.key}`, {
        source: storage.uri,
      });
    }
    // rows strictly before every other cursor's key can go out as one run
    const other = heap.peek();
    let end = c.pos + 1;
    const max = Math.min(n, c.pos + MAX_RUN);
    if (other === undefined) end = max;
    else {
      const q = idWords(queryId), t = idWords(targetId);
      const lq = idKey(other.kq), lt = idKey(other.kt);
      for (; end < max; end++) {
        const cq = compareIdToKey(q, end, lq);
        if (cq > 0 || (cq === 0 && compareIdToKey(t, end, lt) >= 0)) break;
      }
    }
    lastQ = queryId[end - 1];
    lastT = targetId[end - 1];
    lastKey = c.key;
    yield sliceRows(c.rows, c.pos, end);
    c.pos = end;
    if (end < n) {
      c.kq = queryId[end];
      c.kt = targetId[end];
      heap.push(c);
    } else if (nextGroup(c)) {
      heap.push(c);
    }
  }
}

/** Moves an exhausted cursor to its next non-empty group, unloaded; false when none is left. */
function nextGroup(c: Cursor): boolean {
  c.rows = undefined;
  const groups = c.info.rowGroups;
  do c.group++;
  while (c.group < groups.length && groups[c.group].numRows === 0);
  if (c.group >= groups.length) {
    c.shard = undefined;
    return false;
  }
  c.kq = groups[c.group].minQuery ?? -1n;
  c.kt = -1n;
  return true;
}

/** Binary min-heap of cursors by (kq, kt). */
class CursorHeap {
  private readonly items: Cursor[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Cursor | undefined {
    return this.items[0];
  }

  push(c: Cursor): void {
    const a = this.items;
    let i = a.push(c) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): Cursor {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Cursor, b: Cursor): boolean {
  return a.kq < b.kq || (a.kq === b.kq && (a.kt < b.kt || (a.kt === b.kt && a.order < b.order)));
}
