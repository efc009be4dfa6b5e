/** The results layer: score shards (Parquet), storage policy, `top` and `export`. */
export { RowsBuilder, allocRows, emptyRows, hasComponents, sliceRows, sortRows, validateRows } from "./rows.ts";
export type { ScoreRows } from "./rows.ts";
export { KEEP_ALL, applyPolicy, validatePolicy } from "./policy.ts";
export type { StoragePolicy } from "./policy.ts";
export {
  FORMAT_KEY, FORMAT_VERSION, ROW_GROUP_ROWS, ShardWriter, decodeShard, encodeShard, openShard,
  readRowGroup, readShardRowGroups, shardChecksum, shardKey,
} from "./shard.ts";
export type { EncodeOptions, OpenShard, ReadOptions, RowGroupInfo, ShardInfo, StreamOptions } from "./shard.ts";
export { bytesAsyncBuffer, storageAsyncBuffer } from "./source.ts";
export type { AsyncBuffer, ShardSource } from "./source.ts";
export { listShards, openStorageShard, writeShard } from "./shard-store.ts";
export type { ShardRef, WrittenShard } from "./shard-store.ts";
export { topMatches } from "./top.ts";
export type { Match, TopMatches, TopOptions } from "./top.ts";
export { exportMerged } from "./export.ts";
export type { ExportFormat, ExportOptions, ExportSummary } from "./export.ts";
export { formatFloat32 } from "./float32-text.ts";
