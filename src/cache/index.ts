export { buildCache } from "./build.ts";
export type { BuildOptions, BuildProgress, BuildSummary } from "./build.ts";
export { CacheIntegrityError, CacheReader, openCache, readManifest, verifyCache } from "./reader.ts";
export type { OpenOptions, ReadOptions, VerifyResult } from "./reader.ts";
export { localCacheCopy } from "./local-copy.ts";
export type { LocalCopyOptions } from "./local-copy.ts";
export { cacheInfo, simplifyNote } from "./info.ts";
export { DEFAULT_PRECISION, FORMAT_NAME, FORMAT_VERSION, formatParams, paramsEqual } from "./format.ts";
export type { FailedNeuron, IndexColumns, Manifest, Precision, Report, SimplifiedNeuron, WarnedNeuron } from "./format.ts";
