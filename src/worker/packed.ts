/**
 * A bin's neurons in one SharedArrayBuffer, so every worker thread reads the same bytes
 * instead of a copy each. Layout (little-endian, like the cache):
 *
 *   offsets  float64 x (n + 1)   first point of neuron i; offsets[n] = total points
 *   ids      float64 x n         neuron ids, ascending
 *   points   value x 3T          xyz, neuron after neuron
 *   vect     value x 3T          unit tangents
 *   alpha    value x T
 *
 * `value` is the cache's precision (float32 or float64), so the block is the size of the
 * bin's share of dotprops.bin plus 16 bytes a neuron. Float64 sections start 8-aligned.
 */
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
  readonly ids: Float64Array;
  readonly points: Float32Array | Float64Array;
  readonly vect: Float32Array | Float64Array;
  readonly alpha: Float32Array | Float64Array;
}

/** Bytes a packed block of `count` neurons and `totalPoints` points takes. */
export function packedBytes(count: number, totalPoints: number, bpv: 4 | 8): number {
  return 8 * (2 * count + 1) + 7 * totalPoints * bpv;
}

/** An empty block for neurons of the given point counts (ids and offsets filled in). */
export function allocPacked(ids: ArrayLike<number>, pointCounts: ArrayLike<number>, bpv: 4 | 8): PackedNeurons {
  const count = ids.length;
  let total = 0;
  for (let i = 0; i < count; i++) total += pointCounts[i];
  const packed: PackedNeurons = { buffer: new SharedArrayBuffer(packedBytes(count, total, bpv)), count, totalPoints: total, bpv };
  const v = packedViews(packed);
  let at = 0;
  for (let i = 0; i < count; i++) {
    v.ids[i] = ids[i];
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
  return {
    offsets: new Float64Array(buffer, 0, count + 1),
    ids: new Float64Array(buffer, 8 * (count + 1), count),
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
