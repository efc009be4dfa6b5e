export { buildCache } from "./build.ts";
export type { BuildOptions, BuildProgress, BuildSummary } from "./build.ts";
export { CacheReader, openCache, readManifest, verifyCache } from "./reader.ts";
export type { VerifyResult } from "./reader.ts";
export { localCacheCopy } from "./local-copy.ts";
export type { LocalCopyOptions } from "./local-copy.ts";
export { cacheInfo } from "./info.ts";
export { FORMAT_NAME, FORMAT_VERSION, formatParams, paramsEqual } from "./format.ts";
export type { FailedNeuron, IndexColumns, Manifest, Precision, Report } from "./format.ts";
