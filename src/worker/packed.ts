/**
 * A bin's neurons in one SharedArrayBuffer, so every worker thread reads the same bytes
 * instead of a copy each. Layout (little-endian, like the cache):
 *
 *   offsets  float64 x (n + 1)   first point of neuron i; offsets[n] = total points
 *   ids      int64 x n           neuron ids, ascending (exact to 2^63 - 1)
 *   points   value x 3T          xyz, neuron after neuron
 *   vect     value x 3T          unit tangents
 *   alpha    value x T
 *
 * `value` is the cache's precision (float32 or float64), so the block is the size of the
 * bin's share of dotprops.bin plus 16 bytes a neuron. Float64 sections start 8-aligned.
 *
 * The bin's k-d trees get a second shared block (TreeBlock, below).
 */
import { idWords } from "../ids/index.ts";
import { preparedTargetBytes } from "../nblast/score.ts";
import type { Dotprops } from "../nblast/types.ts";

export interface PackedNeurons {
  readonly buffer: SharedArrayBuffer;
  readonly count: number;
  readonly totalPoints: number;
  /** Bytes per value: 4 (float32) or 8 (float64). */
  readonly bpv: 4 | 8;
}

/** What a thread (or the main thread) sees of a packed block. */
export interface PackedViews {
  readonly offsets: Float64Array;
  readonly ids: BigInt64Array;
  /** The words of `ids` (src/ids/words.ts): what the threads copy into their rows. */
  readonly idWords: Uint32Array;
  readonly points: Float32Array | Float64Array;
  readonly vect: Float32Array | Float64Array;
  readonly alpha: Float32Array | Float64Array;
}

/** Bytes a packed block of `count` neurons and `totalPoints` points takes. */
export function packedBytes(count: number, totalPoints: number, bpv: 4 | 8): number {
  return 8 * (2 * count + 1) + 7 * totalPoints * bpv;
}

/** An empty block for neurons of the given point counts (ids and offsets filled in). */
export function allocPacked(ids: BigInt64Array, pointCounts: ArrayLike<number>, bpv: 4 | 8): PackedNeurons {
  const count = ids.length;
  let total = 0;
  for (let i = 0; i < count; i++) total += pointCounts[i];
  const packed: PackedNeurons = { buffer: new SharedArrayBuffer(packedBytes(count, total, bpv)), count, totalPoints: total, bpv };
  const v = packedViews(packed);
  v.ids.set(ids);
  let at = 0;
  for (let i = 0; i < count; i++) {
    v.offsets[i] = at;
    at += pointCounts[i];
  }
  v.offsets[count] = at;
  return packed;
}

export function packedViews(p: PackedNeurons): PackedViews {
  const { buffer, count, totalPoints: t, bpv } = p;
  const head = 8 * (2 * count + 1);
  const values = (at: number, n: number): Float32Array | Float64Array =>
    bpv === 4 ? new Float32Array(buffer, at, n) : new Float64Array(buffer, at, n);
  const ids = new BigInt64Array(buffer, 8 * (count + 1), count);
  return {
    offsets: new Float64Array(buffer, 0, count + 1),
    ids,
    idWords: idWords(ids),
    points: values(head, 3 * t),
    vect: values(head + 3 * t * bpv, 3 * t),
    alpha: values(head + 6 * t * bpv, t),
  };
}

/** Copies neuron i's dotprops into the block (its point count must match the slot). */
export function setPackedNeuron(v: PackedViews, i: number, dp: Dotprops): void {
  const o = v.offsets[i];
  const n = v.offsets[i + 1] - o;
  if (dp.alpha.length !== n || dp.points.length !== 3 * n || dp.vect.length !== 3 * n) {
    throw new RangeError(`neuron ${v.ids[i]}: ${dp.alpha.length} points where the index says ${n}`);
  }
  v.points.set(dp.points, 3 * o);
  v.vect.set(dp.vect, 3 * o);
  v.alpha.set(dp.alpha, o);
}

/** Neuron i as Dotprops: views on the shared block, no copy. */
export function packedNeuron(v: PackedViews, i: number): Dotprops {
  const a = v.offsets[i];
  const b = v.offsets[i + 1];
  return {
    points: v.points.subarray(3 * a, 3 * b),
    vect: v.vect.subarray(3 * a, 3 * b),
    alpha: v.alpha.subarray(a, b),
  };
}

/**
 * The k-d trees of a bin's neurons (prepared targets: tree, tangents and alpha in tree
 * order, see prepareTargetInto) in one SharedArrayBuffer. The threads build each tree once,
 * into its slot, and then every thread queries the same bytes through its own lightweight
 * KdTree objects (preparedTargetFrom).
 */
export interface TreeBlock {
  readonly buffer: SharedArrayBuffer;
  /** Per neuron (local index): byte offset of its prepared target (8-aligned), or -1 when the bin needs none. Shared. */
  readonly offsets: Float64Array;
  /** The neurons to build, largest first (so the last builds are small): the threads' queue. Shared. */
  readonly order: Int32Array;
  /** Points of the trees. */
  readonly points: number;
}

/** A tree block for the neurons `need` (local indices) of the packed block; nothing built yet. */
export function allocTreeBlock(v: PackedViews, need: ArrayLike<number>): TreeBlock {
  const count = v.ids.length;
  const offsets = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, count)), 0, count).fill(-1);
  const list: number[] = [];
  let bytes = 0;
  let points = 0;
  for (let k = 0; k < need.length; k++) {
    const i = need[k];
    if (offsets[i] >= 0) continue;
    const n = v.offsets[i + 1] - v.offsets[i];
    offsets[i] = bytes;
    bytes += preparedTargetBytes(n); // a multiple of 8: every slot stays 8-aligned
    points += n;
    list.push(i);
  }
  const size = (i: number): number => v.offsets[i + 1] - v.offsets[i];
  list.sort((a, b) => size(b) - size(a) || a - b);
  const order = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, list.length)), 0, list.length);
  order.set(list);
  return { buffer: new SharedArrayBuffer(Math.max(8, bytes)), offsets, order, points };
}
