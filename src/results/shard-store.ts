/**
 * Shards in a run's Storage: writing a bin's shard, finding a run's shards, opening one
 * for reading (footer only; row groups are fetched by ranged reads as they are needed).
 */
import type { Storage } from "../storage/types.ts";
import { applyPolicy, type StoragePolicy } from "./policy.ts";
import type { ScoreRows } from "./rows.ts";
import { encodeShard, openShard, shardChecksum, shardKey, type EncodeOptions, type OpenShard } from "./shard.ts";
import { storageAsyncBuffer } from "./source.ts";

export interface WrittenShard {
  key: string;
  /** sha256 hex of the file, for the bin's done marker. */
  sha256: string;
  rows: number;
  bytes: number;
}

/**
 * Applies the policy (when given), encodes and writes shards/bin=<bin>.parquet in one
 * atomic put. Rerunning a bin over the same rows writes the same bytes.
 */
export async function writeShard(
  storage: Storage, bin: number | string, rows: ScoreRows, opts: EncodeOptions & { policy?: StoragePolicy } = {},
): Promise<WrittenShard> {
  const kept = opts.policy ? applyPolicy(rows, opts.policy) : rows;
  const bytes = encodeShard(kept, opts);
  const key = shardKey(bin);
  await storage.put(key, bytes);
  return { key, sha256: shardChecksum(bytes), rows: kept.length, bytes: bytes.length };
}

export interface ShardRef {
  key: string;
  /** The text between "bin=" and ".parquet". */
  bin: string;
}

const SHARD_KEY = /^shards\/bin=([^/]+)\.parquet$/;

/** The ref of a shard key (shards/bin=<bin>.parquet); RangeError for another key. */
export function shardRef(key: string): ShardRef {
  const m = SHARD_KEY.exec(key);
  if (m === null) throw new RangeError(`not a shard key: ${key}`);
  return { key, bin: m[1] };
}

/**
 * Every shards/bin=<bin>.parquet key under `storage` (a run root), ordered by bin:
 * numerically when all bins are integers, else as strings.
 */
export async function listShards(storage: Storage): Promise<ShardRef[]> {
  const refs: ShardRef[] = [];
  for (const key of await storage.list("shards/")) {
    const m = SHARD_KEY.exec(key);
    if (m) refs.push({ key, bin: m[1] });
  }
  const numeric = refs.every((r) => /^\d+$/.test(r.bin));
  refs.sort((a, b) => (numeric ? Number(a.bin) - Number(b.bin) : a.bin < b.bin ? -1 : a.bin > b.bin ? 1 : 0));
  return refs;
}

/** Opens (reads the footer of) one shard of a storage. */
export async function openStorageShard(storage: Storage, key: string): Promise<OpenShard> {
  return openShard(await storageAsyncBuffer(storage, key), `${storage.uri}/${key}`);
}
