/**
 * A bin's work as the scoring threads take it: neurons by their index in the bin's packed
 * block ("local" index, = position in BinWork.neurons), and the pairs as work items.
 *
 * An item is a stretch of one query's row: (query, k0, k1) means the query against the
 * targets cols[k0..k1). Rows are cut into stretches of at most ITEM_TARGETS targets so a
 * bin with fewer rows than threads (a long query row split over bins) still spreads over
 * every thread. Items, cols and the self-score list live in SharedArrayBuffers: every
 * thread reads the same ones.
 */
import type { BinWork } from "../plan/work.ts";

/** Most targets in one work item. */
export const ITEM_TARGETS = 256;

export interface BinLayout {
  /** Local indices whose self score the bin computes. */
  readonly selfIdx: Int32Array;
  /** (query local index, k0, k1) triples into `cols`. */
  readonly items: Int32Array;
  readonly itemCount: number;
  /** Local neuron index of each target column the bin uses, in target-list order. */
  readonly cols: Int32Array;
  /** Pairs of the plan this bin computes (upper layout: unordered pairs). */
  readonly pairs: number;
}

/** Position of `x` in the ascending list `a`, or -1. */
export function indexOfSorted(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid];
    if (v < x) lo = mid + 1;
    else if (v > x) hi = mid - 1;
    else return mid;
  }
  return -1;
}

function sharedInt32(values: ArrayLike<number>): Int32Array {
  const a = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, values.length)), 0, values.length);
  a.set(values as ArrayLike<number>);
  return a;
}

export function planBinLayout(work: BinWork): BinLayout {
  const { neurons, queries, targets, diagonal } = work;
  const upper = work.layout === "upper";
  const local = (id: number): number => {
    const i = indexOfSorted(neurons, id);
    if (i < 0) throw new Error(`bin ${work.index}: neuron ${id} is not in the bin's neuron list`);
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
  const starts: number[] = []; // k of each merged range's first column
  const colList: number[] = [];
  for (const [a, b] of merged) {
    starts.push(colList.length);
    for (let j = a; j < b; j++) colList.push(local(targets[j]));
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

  const items: number[] = [];
  let pairs = 0;
  for (const b of work.blocks) {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    for (let i = r0; i < r1; i++) {
      const first = upper ? Math.max(c0, diagonal ? i : i + 1) : c0;
      if (first >= c1) continue;
      const q = local(queries[i]);
      const k0 = kOf(first);
      const k1 = kOf(c1 - 1) + 1;
      pairs += k1 - k0;
      if (!upper && !diagonal) {
        const self = indexOfSorted(targets, queries[i]);
        if (self >= first && self < c1) pairs--;
      }
      for (let k = k0; k < k1; k += ITEM_TARGETS) items.push(q, k, Math.min(k1, k + ITEM_TARGETS));
    }
  }
  return {
    selfIdx: sharedInt32(work.selfScores.map(local)),
    items: sharedInt32(items),
    itemCount: items.length / 3,
    cols: sharedInt32(colList),
    pairs,
  };
}

/** Pairs of the plan in bin `work` (as planBinLayout counts them), without building items. */
export function binPairCount(work: BinWork): number {
  const { queries, targets, diagonal } = work;
  const upper = work.layout === "upper";
  let pairs = 0;
  for (const b of work.blocks) {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    if (!upper) {
      pairs += (r1 - r0) * (c1 - c0);
      if (!diagonal) {
        for (let i = r0; i < r1; i++) {
          const self = indexOfSorted(targets, queries[i]);
          if (self >= c0 && self < c1) pairs--;
        }
      }
      continue;
    }
    for (let i = r0; i < r1; i++) pairs += Math.max(0, c1 - Math.max(c0, diagonal ? i : i + 1));
  }
  return pairs;
}
