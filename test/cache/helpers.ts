import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Storage } from "../../src/storage/types.ts";

export const FCTRACES = fileURLToPath(new URL("../../samples/fctraces20", import.meta.url));

export async function tempDir(label: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nbf-cache-${label}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export interface Recorded {
  get: string[];
  ranges: { key: string; offset: number; length: number }[];
}

/** A Storage that records every read it passes through, to see what a reader fetched. */
export function recording(inner: Storage, log: Recorded = { get: [], ranges: [] }): { storage: Storage; log: Recorded } {
  const storage: Storage = {
    uri: inner.uri,
    get: (key) => {
      log.get.push(key);
      return inner.get(key);
    },
    getRange: (key, offset, length) => {
      log.ranges.push({ key, offset, length });
      return inner.getRange(key, offset, length);
    },
    size: (key) => inner.size(key),
    put: (key, data) => inner.put(key, data),
    putIfAbsent: (key, data) => inner.putIfAbsent(key, data),
    putFile: (key, path) => inner.putFile(key, path),
    getFile: (key, path) => inner.getFile(key, path),
    list: (prefix) => inner.list(prefix),
    delete: (key) => inner.delete(key),
    child: (prefix) => recording(inner.child(prefix), log).storage,
  };
  return { storage, log };
}

/** Bit-level equality of two typed arrays of the same type (NaN-safe, -0-safe). */
export function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.constructor !== b.constructor || a.length !== b.length) return false;
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return Buffer.compare(ua, ub) === 0;
}
