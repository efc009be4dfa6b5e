/** Results in Postgres: CATMAID's score table, the ledger, grants, the binary COPY loader. */
export { CATMAID_RULE, COPY_COLUMNS, COPY_HEADER, COPY_TRAILER, CopyEncoder, KEEP_EVERY_ROW, ROW_BYTES } from "./copy-binary.ts";
export type { EncodeCounts, RowFilter, ScoreColumns } from "./copy-binary.ts";
export { DatabaseError, connect, databaseFromEnv, describeClient, scrub, sslFromMode } from "./connect.ts";
export type { DbTarget } from "./connect.ts";
export { manifestIdAsBigInt, shardIdsAsInt64 } from "./ids.ts";
export { binRegion, firstRowOutside, regionSql } from "./region.ts";
export type { RegionArm } from "./region.ts";
export { BINS_TABLE, RUNS_TABLE, SCORE_TABLE, SIMILARITY_TABLE, checkSchema, initSchema, initSql, isCatmaid, ledgerSql, scoreTableSql } from "./schema.ts";
export type { InitResult, SchemaCheck } from "./schema.ts";
export { PUBLIC_TEMP_EXPLANATION, excessPrivileges, grantLoader, grantStatements, revokePublicTempStatements } from "./grant.ts";
export type { GrantReport } from "./grant.ts";
export { checkSimilarity, readSimilarity, updateSimilarity } from "./catmaid.ts";
export { checkSimilarityId, loadBin, loadRun, registeredSimilarities } from "./load.ts";
export type { BinOutcome, LoadContext, LoadOptions, LoadSummary } from "./load.ts";
export { formatBinOutcome, formatLoadSummary } from "./report.ts";
export { startScoreCopy } from "./copy-stream.ts";
export type { ScoreCopy } from "./copy-stream.ts";
