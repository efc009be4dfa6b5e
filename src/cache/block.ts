/**
 * One neuron's block in dotprops.bin: points (3n), vect (3n), alpha (n) in the cache's
 * precision, zero-padded to 8 bytes. Shared by the build worker (encode) and the reader (views).
 */
import { hash } from "node:crypto";
import type { Dotprops } from "../nblast/types.ts";
import { CHECKSUM_BYTES, blockBytes, padded } from "./format.ts";

export interface EncodedBlock {
  readonly n: number;
  /** The padded block, ready to append; transferable. */
  readonly buffer: ArrayBuffer;
  /** min xyz, max xyz of the stored values, float32 rounded outward. */
  readonly bbox: [number, number, number, number, number, number];
  /** neuronChecksum of the block (without its padding), for the index record. */
  readonly checksum: Uint8Array;
}

/**
 * A neuron's checksum: the first CHECKSUM_BYTES (16) bytes of the SHA-256 of its block's
 * bytes without the padding (7 n x bytes per value). Readers recompute it for every block they read.
 */
export function neuronChecksum(block: Uint8Array): Uint8Array {
  // one-shot hash(): about half the per-call cost of createHash for blocks of a few KB
  return new Uint8Array(hash("sha256", block, "buffer").subarray(0, CHECKSUM_BYTES));
}

/**
 * Float32 storage converts with the typed-array store (IEEE round to nearest even), which is
 * exactly Math.fround: a float32 cache equals Math.fround of the float64 dotprops, bit for bit.
 */
export function encodeBlock(d: Dotprops, bpv: 4 | 8): EncodedBlock {
  const n = d.alpha.length;
  if (d.points.length !== 3 * n || d.vect.length !== 3 * n) {
    throw new Error(`dotprops arrays disagree: ${d.points.length / 3} points, ${d.vect.length / 3} vectors, ${n} alpha`);
  }
  const buffer = new ArrayBuffer(padded(blockBytes(n, bpv)));
  const Arr = bpv === 4 ? Float32Array : Float64Array;
  const pts = new Arr(buffer, 0, 3 * n);
  pts.set(d.points);
  new Arr(buffer, 3 * n * bpv, 3 * n).set(d.vect);
  new Arr(buffer, 6 * n * bpv, n).set(d.alpha);
  return { n, buffer, bbox: boundingBox(pts), checksum: neuronChecksum(new Uint8Array(buffer, 0, blockBytes(n, bpv))) };
}

/** Views on a block (no copy); `bytes` must start 8-aligned in its buffer. */
export function blockViews(buffer: ArrayBuffer, byteOffset: number, n: number, bpv: 4 | 8): Dotprops {
  const Arr = bpv === 4 ? Float32Array : Float64Array;
  return {
    points: new Arr(buffer, byteOffset, 3 * n),
    vect: new Arr(buffer, byteOffset + 3 * n * bpv, 3 * n),
    alpha: new Arr(buffer, byteOffset + 6 * n * bpv, n),
  };
}

function boundingBox(p: Float32Array | Float64Array): EncodedBlock["bbox"] {
  let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
  for (let i = 0; i < p.length; i += 3) {
    const x = p[i], y = p[i + 1], z = p[i + 2];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (z < z0) z0 = z;
    if (z > z1) z1 = z;
  }
  return [down32(x0), down32(y0), down32(z0), up32(x1), up32(y1), up32(z1)];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The largest float32 <= x. */
export function down32(x: number): number {
  const f = Math.fround(x);
  return f <= x ? f : stepFloat32(f, -1);
}

/** The smallest float32 >= x. */
export function up32(x: number): number {
  const f = Math.fround(x);
  return f >= x ? f : stepFloat32(f, +1);
}

function stepFloat32(f: number, dir: 1 | -1): number {
  if (f === 0) return dir * 1.401298464324817e-45;
  f32[0] = f;
  // For a finite float32 the bit pattern is monotone in magnitude: +1 moves away from zero.
  u32[0] += (f > 0) === (dir > 0) ? 1 : -1;
  return f32[0];
}
