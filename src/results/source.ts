/**
 * Byte sources for the Parquet reader. hyparquet reads through an AsyncBuffer
 * ({ byteLength, slice(start, end) }), fetching only the footer and the column chunks it
 * needs, so a Storage object becomes one (ranged GETs on S3, preads locally).
 */
import type { AsyncBuffer } from "hyparquet";
import { NotFoundError, type Storage } from "../storage/types.ts";

export type { AsyncBuffer };

/** A whole file in memory, or a lazily read one. */
export type ShardSource = Uint8Array | AsyncBuffer;

/** An ArrayBuffer holding exactly the bytes of `view` (no copy when it already is one). */
export function exactArrayBuffer(view: Uint8Array): ArrayBuffer {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) {
    return view.buffer;
  }
  return view.slice().buffer as ArrayBuffer;
}

export function bytesAsyncBuffer(bytes: Uint8Array): AsyncBuffer {
  return {
    byteLength: bytes.byteLength,
    slice: (start: number, end?: number) => exactArrayBuffer(bytes.subarray(start, end)),
  };
}

export function toAsyncBuffer(src: ShardSource): AsyncBuffer {
  return src instanceof Uint8Array ? bytesAsyncBuffer(src) : src;
}

/** An AsyncBuffer over one object of a Storage; each slice is one getRange. */
export async function storageAsyncBuffer(storage: Storage, key: string): Promise<AsyncBuffer> {
  const size = await storage.size(key);
  if (size === undefined) throw new NotFoundError(`${storage.uri}/${key}`);
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const lo = Math.max(0, Math.min(start, size));
      const hi = Math.max(lo, Math.min(end, size));
      if (hi === lo) return new ArrayBuffer(0);
      return exactArrayBuffer(await storage.getRange(key, lo, hi - lo));
    },
  };
}
