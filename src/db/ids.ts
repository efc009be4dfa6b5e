/**
 * The one place where the project's id representation meets the loader.
 *
 * The loader works on 64-bit ids throughout: BigInt64Array columns into the binary COPY
 * encoder, bigint bounds for a bin's region. Today the shard reader hands ids out as
 * Float64Array (exact below 2^53) and the manifest holds them as numbers; the `ids` branch
 * makes both 64-bit (BigInt64Array from shards, bigint or decimal strings in the
 * manifest). These two functions already accept both forms, so that merge changes
 * nothing here; once it lands, `shardIdsAsInt64` is the identity and may be inlined.
 */

/** Word order of 64-bit values in typed arrays on this host (every platform Node runs on but s390x is little-endian). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Ids of a decoded shard column as int64, without a BigInt per value. */
export function shardIdsAsInt64(ids: Float64Array | BigInt64Array): BigInt64Array {
  if (ids instanceof BigInt64Array) return ids;
  if (!HOST_LITTLE_ENDIAN) return BigInt64Array.from(ids, (v) => BigInt(v));
  const out = new BigInt64Array(ids.length);
  // Two's-complement words of each (safe-integer) double, little-endian word order:
  // `v >>> 0` is v modulo 2^32 (exact for |v| < 2^53), floor(v / 2^32) the signed high word.
  const words = new Int32Array(out.buffer, out.byteOffset, ids.length * 2);
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    words[2 * i] = v >>> 0;
    words[2 * i + 1] = Math.floor(v / 4294967296);
  }
  return out;
}

/** A manifest id (number today; bigint or decimal string after the 64-bit ids change) as bigint. */
export function manifestIdAsBigInt(id: number | bigint | string): bigint {
  return BigInt(id);
}
