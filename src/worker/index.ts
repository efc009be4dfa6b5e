/** The bin worker: scores one bin of a planned run on all threads (docs/worker.md). */
export { runBin } from "./run-bin.ts";
export type { BinOutcome, BinPhase, BinProgress, RunBinOptions } from "./run-bin.ts";
export { WorkerSession, defaultCacheDir, openWorkerSession } from "./session.ts";
export type { WorkerSessionOptions } from "./session.ts";
export { binStatus, checkDone, doneKey, failedKey, hashObject, readFailed } from "./markers.ts";
export { verifiedShards } from "./run-shards.ts";
export type { RunShards, RunShardsOptions, VerifiedShard } from "./run-shards.ts";
export type { BinStatus, DoneCheck, DoneMarker, DoneTotals, FailedMarker } from "./markers.ts";
export { ScorePool } from "./score-pool.ts";
export type { ScoreJob, ScoreResult, ScoreRunOptions } from "./score-pool.ts";
export { binPairCount, planBinLayout } from "./bin-job.ts";
export { resolveThreadCount } from "./thread-count.ts";
export { binBalance, formatBalance, spread } from "./balance.ts";
export type { BinBalance, Spread } from "./balance.ts";
