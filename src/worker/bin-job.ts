/**
 * A bin's work as the scoring threads take it: neurons by their index in the bin's packed
 * block ("local" index, = position in BinWork.neurons), and the pairs as work items.
 *
 * `rows` lists every row of every block: (query, k0, k1, selfK), the query against the
 * targets cols[k0..k1) (selfK: where the query itself sits in that range, or -1). An item
 * is a tile: row entries [e0, e1) against the column window [c0, c1).
 *
 * `neededTrees` lists the neurons whose k-d tree the bin needs: every target column, every
 * neuron with a self score, and in symmetric modes every query (the reverse score searches
 * the query's tree). The threads build each of them once, into shared memory, before any
 * pair is scored (score-thread.ts), so tiles are free to take any shape:
 * - asymmetric modes (raw, normalized): tiles are whole columns of a block (all its rows),
 *   which walks each query along a run of targets;
 * - symmetric modes: square tiles.
 * Tiles hold about pairs / TARGET_ITEMS pairs (at least MIN_ITEM_PAIRS), so a bin spreads
 * over any number of threads and a slow tile at the end holds up little. Items, rows, cols
 * and the self-score and tree lists live in SharedArrayBuffers: every thread reads the
 * same ones.
 */
import { formatIdAt, idWords, searchIdAt } from "../ids/index.ts";
import { isSymmetricMode } from "../nblast/modes.ts";
import type { BinWork } from "../plan/work.ts";

/** Tiles a bin is cut into, roughly (fewer for small bins). */
export const TARGET_ITEMS = 256;
export const MIN_ITEM_PAIRS = 64;

export interface BinLayout {
  /** Local indices whose self score the bin computes. */
  readonly selfIdx: Int32Array;
  /** (query local index, k0, k1, selfK) per row of each block. */
  readonly rows: Int32Array;
  /** (e0, e1, c0, c1) per tile: rows entries e0..e1-1 against cols[c0..c1). */
  readonly items: Int32Array;
  readonly itemCount: number;
  /** Local neuron index of each target column the bin uses, in target-list order. */
  readonly cols: Int32Array;
  /** Pairs of the plan this bin computes (upper layout: unordered pairs). */
  readonly pairs: number;
}

function sharedInt32(values: ArrayLike<number>): Int32Array {
  const a = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, values.length)), 0, values.length);
  a.set(values);
  return a;
}

export function planBinLayout(work: BinWork): BinLayout {
  const { neurons, queries, targets, diagonal } = work;
  const upper = work.layout === "upper";
  // Ids are compared through their words: no BigInt per row or column.
  const nw = idWords(neurons), qw = idWords(queries), tw = idWords(targets);
  const local = (list: Uint32Array, pos: number): number => {
    const i = searchIdAt(nw, neurons.length, list, pos);
    if (i < 0) throw new Error(`bin ${work.index}: neuron ${formatIdAt(list, pos)} is not in the bin's neuron list`);
    return i;
  };

  // The bin's target columns: union of the blocks' column ranges, merged, in order.
  const ranges = work.blocks.map((b) => [b.cols[0], b.cols[1]] as [number, number]).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of ranges) {
    const last = merged[merged.length - 1];
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  const starts: number[] = [];
  const colList: number[] = [];
  for (const [a, b] of merged) {
    starts.push(colList.length);
    for (let j = a; j < b; j++) colList.push(local(tw, j));
  }
  const kOf = (pos: number): number => {
    let lo = 0;
    let hi = merged.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (merged[mid][0] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return starts[lo] + pos - merged[lo][0];
  };

  // Row entries, block by block; pairs counted as forEachPair walks them.
  const rows: number[] = [];
  const blockRows: [number, number][] = []; // entries [e0, e1) of each block
  let pairs = 0;
  for (const b of work.blocks) {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    const e0 = rows.length / 4;
    for (let i = r0; i < r1; i++) {
      const first = upper ? Math.max(c0, diagonal ? i : i + 1) : c0;
      if (first >= c1) continue;
      const k0 = kOf(first);
      const k1 = kOf(c1 - 1) + 1;
      let selfK = -1;
      if (!upper && !diagonal) {
        // one list (all-by-all, ascending or in space order): a query's own column is its row
        const self = targets === queries ? i : searchIdAt(tw, targets.length, qw, i);
        if (self >= first && self < c1) selfK = kOf(self);
      }
      rows.push(local(qw, i), k0, k1, selfK);
      pairs += k1 - k0 - (selfK >= 0 ? 1 : 0);
    }
    blockRows.push([e0, rows.length / 4]);
  }

  const sw = idWords(work.selfScores);
  const itemPairs = Math.max(MIN_ITEM_PAIRS, Math.ceil(pairs / TARGET_ITEMS));
  const square = isSymmetricMode(work.normalization);
  const items: number[] = [];
  for (const [e0, e1] of blockRows) {
    if (e1 === e0) continue;
    let kMin = Infinity;
    let kMax = -Infinity;
    for (let e = e0; e < e1; e++) {
      kMin = Math.min(kMin, rows[4 * e + 1]);
      kMax = Math.max(kMax, rows[4 * e + 2]);
    }
    const nRows = e1 - e0;
    let groupRows: number;
    let width: number;
    if (square) {
      groupRows = width = Math.max(1, Math.round(Math.sqrt(itemPairs)));
    } else {
      groupRows = Math.min(nRows, itemPairs);
      width = Math.max(1, Math.floor(itemPairs / groupRows));
    }
    for (let c0 = kMin; c0 < kMax; c0 += width) {
      const c1 = Math.min(kMax, c0 + width);
      for (let g0 = e0; g0 < e1; g0 += groupRows) {
        const g1 = Math.min(e1, g0 + groupRows);
        // Tiles left of a triangle's rows hold nothing.
        let any = false;
        for (let e = g0; e < g1 && !any; e++) any = Math.max(c0, rows[4 * e + 1]) < Math.min(c1, rows[4 * e + 2]);
        if (any) items.push(g0, g1, c0, c1);
      }
    }
  }
  return {
    selfIdx: sharedInt32(Array.from({ length: work.selfScores.length }, (_, k) => local(sw, k))),
    rows: sharedInt32(rows),
    items: sharedInt32(items),
    itemCount: items.length / 4,
    cols: sharedInt32(colList),
    pairs,
  };
}

/**
 * Local indices (ascending) of the neurons whose k-d tree a bin needs: its target columns,
 * the neurons it computes self scores of, and, when it scores both ways (symmetric modes),
 * its queries.
 */
export function neededTrees(
  count: number,
  layout: { readonly cols: ArrayLike<number>; readonly selfIdx: ArrayLike<number>; readonly rows: ArrayLike<number> },
  bothWays: boolean,
): Int32Array {
  const need = new Uint8Array(count);
  const { cols, selfIdx, rows } = layout;
  for (let k = 0; k < cols.length; k++) need[cols[k]] = 1;
  for (let k = 0; k < selfIdx.length; k++) need[selfIdx[k]] = 1;
  if (bothWays) for (let e = 0; e < rows.length; e += 4) need[rows[e]] = 1;
  let m = 0;
  for (let i = 0; i < count; i++) m += need[i];
  const out = new Int32Array(m);
  for (let i = 0, k = 0; i < count; i++) if (need[i] === 1) out[k++] = i;
  return out;
}

/** Pairs of the plan in bin `work` (as planBinLayout counts them), without building anything. */
export function binPairCount(work: BinWork): number {
  const { queries, targets, diagonal } = work;
  const qw = idWords(queries), tw = idWords(targets);
  const upper = work.layout === "upper";
  let pairs = 0;
  for (const b of work.blocks) {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    if (!upper) {
      pairs += (r1 - r0) * (c1 - c0);
      if (!diagonal) {
        for (let i = r0; i < r1; i++) {
          const self = targets === queries ? i : searchIdAt(tw, targets.length, qw, i);
          if (self >= c0 && self < c1) pairs--;
        }
      }
      continue;
    }
    for (let i = r0; i < r1; i++) pairs += Math.max(0, c1 - Math.max(c0, diagonal ? i : i + 1));
  }
  return pairs;
}
