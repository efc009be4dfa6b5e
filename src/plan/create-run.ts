/**
 * From a cache and the user's options to a written run manifest: the one path `plan`
 * and `run` share. Reads only the cache's index, never its dotprops.
 */
import type { CacheReader } from "../cache/reader.ts";
import type { ScoreMatrix } from "../nblast/smat.ts";
import type { Storage } from "../storage/types.ts";
import { killPoint } from "../storage/kill-point.ts";
import { TOOL_VERSION } from "../version.ts";
import { planBins, summarizeCost, type CostSummary } from "./bins.ts";
import { buildManifest, writeManifest, type RunManifest } from "./manifest.ts";
import { selectNeurons, type Selection } from "./select.ts";
import { pruneDistanceOf } from "./candidates.ts";
import { planSpatialBins } from "./spatial.ts";
import type { Balance, Normalization, PlanNeuron } from "./types.ts";

export interface CreateRunOptions {
  readonly cache: CacheReader;
  readonly out: Storage;
  /** Default: as many as the selection allows, at most DEFAULT_BINS. */
  readonly bins?: number;
  readonly normalization: Normalization;
  readonly useAlpha: boolean;
  readonly smat: ScoreMatrix;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly queryIds?: readonly bigint[];
  readonly targetIds?: readonly bigint[];
  readonly balance?: Balance;
  /** Rows kept: score > minScore (float32, exclusive); undefined keeps all. */
  readonly minScore?: number;
  readonly topN?: number;
  readonly keepSelf: boolean;
  readonly keepForwardReverse: boolean;
  /**
   * Plan an all-by-all in space order, skipping the pairs too far apart to be stored
   * (spatial.ts), where the storage rule allows it (default true; false: every pair, id order).
   */
  readonly spatial?: boolean;
}

export interface CreatedRun {
  readonly manifest: RunManifest;
  /** "unchanged": the same plan was already there (an idempotent rerun). */
  readonly status: "written" | "unchanged";
  readonly selection: Selection;
  readonly cost: CostSummary;
  /** The other balance on the same data, for comparison; undefined where it cannot be planned. */
  readonly alternative: { readonly balance: Balance; readonly cost: CostSummary } | undefined;
}

/** Bins when the user names none: enough to resume at a fine grain and keep all cores busy. */
export const DEFAULT_BINS = 16;

export function planNeurons(cache: CacheReader): PlanNeuron[] {
  const { ids, points, cable } = cache.neurons;
  const out: PlanNeuron[] = new Array(cache.count);
  for (let i = 0; i < cache.count; i++) out[i] = { id: ids[i], points: points[i], cable: cable[i] };
  return out;
}

/** The cache's bounding box of each selected neuron, in selection order (6 numbers each). */
function selectionBoxes(cache: CacheReader, selection: Selection): Float64Array {
  const list = selection.queries;
  const out = new Float64Array(6 * list.length);
  const bbox = cache.neurons.bbox;
  for (let k = 0; k < list.length; k++) {
    const i = cache.indexOf(list[k].id);
    for (let c = 0; c < 6; c++) out[6 * k + c] = bbox[6 * i + c];
  }
  return out;
}

export async function createRun(o: CreateRunOptions): Promise<CreatedRun> {
  const selection = selectNeurons(planNeurons(o.cache), {
    minLength: o.minLength,
    maxLength: o.maxLength,
    queryIds: o.queryIds,
    targetIds: o.targetIds,
  });
  const bins = o.bins ?? Math.max(1, Math.min(DEFAULT_BINS, selection.queries.length));
  const balance = o.balance ?? "cost";
  const planWith = (b: Balance) =>
    planBins(selection, { bins, normalization: o.normalization, keepSelf: o.keepSelf, balance: b });
  const pruneDistance = pruneDistanceOf(o.smat, { minScore: o.minScore }, o.normalization);
  const spatial = o.spatial !== false && selection.sameSet && balance === "cost" && pruneDistance < Infinity;
  const work = spatial
    ? planSpatialBins(selection, {
        bins,
        normalization: o.normalization,
        keepSelf: o.keepSelf,
        pruneDistance,
        boxes: selectionBoxes(o.cache, selection),
      })
    : planWith(balance);
  const other: Balance = balance === "cost" ? "cable" : "cost";
  let alternative: CreatedRun["alternative"];
  try {
    alternative = { balance: other, cost: summarizeCost(planWith(other).bins) };
  } catch {
    // CATMAID's buckets need at least one query per bin: no comparison then.
    alternative = undefined;
  }
  const manifest = buildManifest({
    tool: { version: TOOL_VERSION },
    cache: { uri: o.cache.uri, checksum: o.cache.checksum, params: o.cache.params },
    selection: { minLength: o.minLength, maxLength: o.maxLength },
    scoring: { normalization: o.normalization, useAlpha: o.useAlpha, smat: o.smat },
    storage: { minScore: o.minScore, topN: o.topN, keepSelf: o.keepSelf, keepForwardReverse: o.keepForwardReverse },
    balance,
    work,
  });
  killPoint("plan");
  const status = await writeManifest(o.out, manifest);
  return { manifest, status, selection, cost: summarizeCost(work.bins), alternative };
}
