export type { PlanNeuron, Normalization, Layout, Block, Bin, Balance, WorkPlan } from "./types.ts";
export { NORMALIZATIONS, isSymmetric } from "./types.ts";
export { selectNeurons, checkNeurons, type SelectOptions, type Selection } from "./select.ts";
export { parseIdList, readIdFile, type IdLookup } from "./idfile.ts";
export { DEFAULT_COST_MODEL, forwardCost, type CostModel } from "./cost.ts";
export { planBins, summarizeCost, formatCostSummary, catmaidGroupCount, type PlanOptions, type CostSummary } from "./bins.ts";
export {
  MANIFEST_KEY,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  manifestSchema,
  buildManifest,
  serializeManifest,
  writeManifest,
  readManifest,
  parseManifest,
  checkCache,
  manifestScoreMatrix,
  manifestStoragePolicy,
  type RunManifest,
  type ManifestInputs,
  type ScoreMatrixLike,
} from "./manifest.ts";
export { binWork, planBinWork, forEachPair, type BinWork } from "./work.ts";
