/**
 * Small runs for the worker and local-engine tests: a float32 cache of a few fctraces20
 * neurons, plans of it, the reference all-by-all (scoreAllByAll on the same cached
 * dotprops) and the merged rows of a run.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCache, openCache, type CacheReader } from "../../src/cache/index.ts";
import { collectInputs } from "../../src/inputs/index.ts";
import { combineScores, isSymmetricMode, prepareTarget, rawScore, scoreAllByAll } from "../../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";
import { planBins } from "../../src/plan/bins.ts";
import { buildManifest, writeManifest, type RunManifest } from "../../src/plan/manifest.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { Normalization, PlanNeuron } from "../../src/plan/types.ts";
import { applyPolicy } from "../../src/results/policy.ts";
import { RowsBuilder, sortRows, type ScoreRows } from "../../src/results/rows.ts";
import { decodeShard } from "../../src/results/shard.ts";
import { listShards } from "../../src/results/shard-store.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import type { Storage } from "../../src/storage/types.ts";

export const FCTRACES = fileURLToPath(new URL("../../samples/fctraces20", import.meta.url));
export const PARAMS = { scale: 1, simplify: undefined, resample: 1, k: 5 };

export async function tempDir(label: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nbf-worker-${label}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** A float32 cache of the first `n` fctraces20 neurons (ids 1..n). */
export async function buildTestCache(out: Storage, n: number): Promise<CacheReader> {
  const sources = (await collectInputs([FCTRACES])).slice(0, n);
  await buildCache({ inputs: sources, out, params: PARAMS, precision: "float32", threads: 1 });
  return openCache(out);
}

export function planNeuronsOf(cache: CacheReader): PlanNeuron[] {
  const { ids, points, cable } = cache.neurons;
  return Array.from(ids, (id, i) => ({ id, points: points[i], cable: cable[i] }));
}

export interface RunSpec {
  bins: number;
  normalization: Normalization;
  useAlpha?: boolean;
  minScore?: number;
  topN?: number;
  keepSelf?: boolean;
  keepForwardReverse?: boolean;
  /** Extra neurons the plan names that the cache may not hold. */
  extra?: PlanNeuron[];
  queryIds?: bigint[];
  targetIds?: bigint[];
  balance?: "cost" | "cable";
}

export function makeManifest(cache: CacheReader, spec: RunSpec, cacheUri = cache.uri): RunManifest {
  const keepSelf = spec.keepSelf ?? false;
  const useAlpha = spec.useAlpha ?? false;
  const selection = selectNeurons([...planNeuronsOf(cache), ...(spec.extra ?? [])], {
    queryIds: spec.queryIds,
    targetIds: spec.targetIds,
  });
  const work = planBins(selection, { bins: spec.bins, normalization: spec.normalization, keepSelf, balance: spec.balance });
  return buildManifest({
    tool: { version: "0.0.0-test" },
    cache: { uri: cacheUri, checksum: cache.checksum, params: cache.params },
    selection: {},
    scoring: { normalization: spec.normalization, useAlpha, smat: useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB },
    storage: { minScore: spec.minScore, topN: spec.topN, keepSelf, keepForwardReverse: spec.keepForwardReverse ?? false },
    balance: spec.balance ?? "cost",
    work,
  });
}

export async function planRun(run: Storage, cache: CacheReader, spec: RunSpec, cacheUri?: string): Promise<RunManifest> {
  const m = makeManifest(cache, spec, cacheUri);
  await writeManifest(run, m);
  return m;
}

export function localRun(path: string): LocalStorage {
  return new LocalStorage(path);
}

/** Every shard of a run, concatenated and sorted; a pair in two shards throws. */
export async function mergedRows(run: Storage): Promise<ScoreRows> {
  const shards = await listShards(run);
  let b: RowsBuilder | undefined;
  for (const s of shards) {
    const rows = await decodeShard(await run.get(s.key), { source: s.key });
    b ??= new RowsBuilder(rows.forward !== undefined, 1024);
    b.append(rows);
  }
  return sortRows((b ?? new RowsBuilder()).finish());
}

/**
 * The reference: scoreAllByAll over the cache's neurons (read back from the cache), the
 * storage rules applied to the float32 scores (self dropped unless kept, minScore
 * exclusive, topN per query over the whole row). Forward/reverse from rawScore directly.
 */
export async function referenceRows(cache: CacheReader, spec: RunSpec): Promise<ScoreRows> {
  const all: Dotprops[] = await cache.readAll();
  const ids = Array.from(cache.neurons.ids);
  const useAlpha = spec.useAlpha ?? false;
  const smat = useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB;
  const scores = scoreAllByAll(all, all, { smat, useAlpha, normalization: spec.normalization });
  const n = all.length;
  const components = spec.keepForwardReverse ?? false;
  let raw: Float64Array | undefined;
  if (components) {
    const prepared = all.map(prepareTarget);
    raw = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) raw[i * n + j] = rawScore(all[i], prepared[j], smat, useAlpha);
    if (!isSymmetricMode(spec.normalization)) throw new Error("components need a symmetric mode");
    // sanity: the reference's combination is scoreAllByAll's
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const c = combineScores(spec.normalization, raw[i * n + j], raw[j * n + i], raw[i * n + i], raw[j * n + j]);
        if (!Object.is(c, scores[i * n + j])) throw new Error("reference combination differs from scoreAllByAll");
      }
    }
  }
  const b = new RowsBuilder(components, n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (components) {
        const f = raw![i * n + j] / raw![i * n + i];
        const r = raw![j * n + i] / raw![j * n + j];
        b.push(ids[i], ids[j], scores[i * n + j], f, r);
      } else b.push(ids[i], ids[j], scores[i * n + j]);
    }
  }
  return applyPolicy(b.finish(), { minScore: spec.minScore, topN: spec.topN, keepSelf: spec.keepSelf ?? false });
}

/** Bit-level equality of two sets of rows, with the first difference named. */
export function rowsDiff(a: ScoreRows, b: ScoreRows): string | undefined {
  if (a.length !== b.length) return `${a.length} rows versus ${b.length}`;
  const cols: [string, ArrayLike<number | bigint> | undefined, ArrayLike<number | bigint> | undefined][] = [
    ["query_id", a.queryId, b.queryId],
    ["target_id", a.targetId, b.targetId],
    ["score", a.score, b.score],
    ["forward", a.forward, b.forward],
    ["reverse", a.reverse, b.reverse],
  ];
  for (const [name, x, y] of cols) {
    if ((x === undefined) !== (y === undefined)) return `${name} present in one only`;
    if (x === undefined || y === undefined) continue;
    for (let i = 0; i < a.length; i++) {
      if (!Object.is(x[i], y[i])) return `row ${i} (${a.queryId[i]}, ${a.targetId[i]}): ${name} ${x[i]} versus ${y[i]}`;
    }
  }
  return undefined;
}
