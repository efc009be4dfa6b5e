/**
 * Runs made without NBLAST, for the loader's tests and benchmark: a real plan
 * (planBins + buildManifest over synthetic neurons), and per bin a real shard (writeShard)
 * and done marker holding seeded scores for exactly the bin's pairs, both orders in the
 * upper layout, as the worker emits them.
 */
import { SMAT_FCWB } from "../../src/nblast/smat.ts";
import { planBins } from "../../src/plan/bins.ts";
import { planSpatialBins } from "../../src/plan/spatial.ts";
import { buildManifest, writeManifest, type RunManifest } from "../../src/plan/manifest.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { Normalization, PlanNeuron } from "../../src/plan/types.ts";
import { binWork, forEachPair } from "../../src/plan/work.ts";
import { RowsBuilder, sortRows, type ScoreRows } from "../../src/results/rows.ts";
import { writeShard } from "../../src/results/shard-store.ts";
import type { Storage } from "../../src/storage/types.ts";
import { DONE_FORMAT, MARKER_VERSION, doneKey, type DoneMarker } from "../../src/worker/markers.ts";
import { Rng } from "../../src/synth/rng.ts";


export interface SyntheticSpec {
  neurons: number;
  bins: number;
  normalization?: Normalization;
  keepSelf?: boolean;
  /** First id; ids are firstId, firstId + step, ... */
  firstId?: bigint;
  step?: number;
  seed?: number;
  /** Plan in space order (src/plan/spatial.ts) over boxes spread through a block, storage minScore 0. */
  spatial?: boolean;
}

export function syntheticManifest(spec: SyntheticSpec): RunManifest {
  const first = spec.firstId ?? 1_000_000_000_000n;
  const step = BigInt(spec.step ?? 7);
  const neurons: PlanNeuron[] = Array.from({ length: spec.neurons }, (_, i) => ({ id: first + BigInt(i) * step, points: 100 + (i % 13) * 20, cable: 50 + i }));
  const normalization = spec.normalization ?? "mean";
  const keepSelf = spec.keepSelf ?? false;
  const selection = selectNeurons(neurons, {});
  const work = spec.spatial === true
    ? planSpatialBins(selection, { bins: spec.bins, normalization, keepSelf, pruneDistance: 12, boxes: spreadBoxes(spec.neurons, spec.seed ?? 1), groupSize: 4 })
    : planBins(selection, { bins: spec.bins, normalization, keepSelf });
  return buildManifest({
    tool: { version: "0.0.0-test" },
    cache: { uri: "/synthetic-cache", checksum: "sha256:" + "1".repeat(64), params: { scale: 1, simplify: undefined, resample: 1, k: 5 } },
    selection: {},
    scoring: { normalization, useAlpha: false, smat: SMAT_FCWB },
    storage: { minScore: spec.spatial === true ? 0 : undefined, topN: undefined, keepSelf, keepForwardReverse: false },
    balance: "cost",
    work,
  });
}

/** Boxes of 5 to 25 um through a 120 x 80 x 60 um block: neighbours pair, far ones do not. */
function spreadBoxes(n: number, seed: number): Float64Array {
  const rng = new Rng(seed * 31 + 7);
  const out = new Float64Array(6 * n);
  for (let i = 0; i < n; i++) {
    const x = rng.next() * 120, y = rng.next() * 80, z = rng.next() * 60, s = 5 + rng.next() * 20;
    out.set([x, y, z, x + s, y + s, z + s / 2], 6 * i);
  }
  return out;
}

/** A bin's rows: every pair it owns (both orders in the upper layout), scores from a seeded generator in [-0.5, 1). */
export function syntheticBinRows(manifest: RunManifest, bin: number, seed = 1): ScoreRows {
  const w = binWork(manifest, bin);
  const rng = new Rng(seed * 100_003 + bin);
  const b = new RowsBuilder(false, 1024);
  forEachPair(w, (q, t) => {
    // a share of the scores sit at or below CATMAID's 0.01 cut, exactly 0.01 included
    const r = rng.next();
    const s = r < 0.05 ? 0.01 : r * 1.5 - 0.5;
    b.push(q, t, s);
    if (w.layout === "upper" && q !== t) b.push(t, q, s);
  });
  return sortRows(b.finish());
}

export function doneMarker(manifest: RunManifest, bin: number, shard: { key: string; sha256: string; rows: number; bytes: number }, seconds = 1.5): DoneMarker {
  return {
    format: DONE_FORMAT,
    version: MARKER_VERSION,
    bin,
    bins: manifest.work.bins.length,
    manifest: manifest.digest,
    shard,
    pairs: shard.rows,
    rowsComputed: shard.rows,
    threads: 1,
    host: "test",
    tool: { name: "nblast-fanout", version: "0.0.0-test" },
    cache: { uri: manifest.cache.uri, checksum: manifest.cache.checksum, precision: "float32" },
    timings: { load: 0, selfScores: 0, scoring: seconds, write: 0, total: seconds },
    peakMemory: 0,
    neurons: { count: 0, points: 0, bytes: 0 },
    trees: { built: 0, points: 0, bytes: 0 },
    finishedAt: "2026-01-01T00:00:00.000Z",
  };
}

/** Writes bin's shard (rows as given) and its done marker, as a worker would. */
export async function writeBin(run: Storage, manifest: RunManifest, bin: number, rows: ScoreRows, seconds = 1.5): Promise<void> {
  const shard = await writeShard(run, bin, rows, { metadata: { bin: String(bin) } });
  await run.put(doneKey(bin), JSON.stringify(doneMarker(manifest, bin, shard, seconds), null, 2));
}

/** Plans a synthetic run into `run` and, for the bins given (default all), writes shards and markers. */
export async function syntheticRun(run: Storage, spec: SyntheticSpec, bins?: number[]): Promise<{ manifest: RunManifest; rows: Map<number, ScoreRows> }> {
  const manifest = syntheticManifest(spec);
  await writeManifest(run, manifest);
  const rows = new Map<number, ScoreRows>();
  for (const b of bins ?? manifest.work.bins.map((_, i) => i)) {
    const r = syntheticBinRows(manifest, b, spec.seed);
    rows.set(b, r);
    await writeBin(run, manifest, b, r, 1 + b / 10);
  }
  return { manifest, rows };
}

/** Every row of the given bins, keyed "q|t", score as float32. */
export function expectedPairs(rows: Iterable<ScoreRows>, filter?: { catmaid: boolean }): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      if (filter?.catmaid && (r.queryId[i] === r.targetId[i] || !(r.score[i] > 0.01))) continue;
      out.set(`${r.queryId[i]}|${r.targetId[i]}`, r.score[i]);
    }
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The bits of a float32 value, to compare scores bit for bit. */
export function float32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** Expected rows as "q|t" -> float32 bits. */
export function expectedBits(rows: Iterable<ScoreRows>, filter?: { catmaid: boolean }): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of expectedPairs(rows, filter)) out.set(k, float32Bits(v));
  return out;
}

/** A similarity's rows in the table as "q|t" -> float32 bits (float4send: the stored bits). */
export async function tableBits(client: { query: (sql: string, params?: unknown[]) => Promise<{ rows: unknown[] }> }, similarityId: number): Promise<Map<string, number>> {
  const r = await client.query(
    `SELECT query_object_id::text AS q, target_object_id::text AS t, float4send(score) AS b FROM public.nblast_similarity_score WHERE similarity_id = $1`,
    [similarityId],
  );
  const out = new Map<string, number>();
  for (const row of r.rows as { q: string; t: string; b: Buffer }[]) {
    const key = `${row.q}|${row.t}`;
    if (out.has(key)) throw new Error(`pair ${key} twice in the table`);
    out.set(key, row.b.readUInt32BE(0));
  }
  return out;
}

/** Awaits p, which must reject with an InputError whose message matches. */
export async function expectInputError(p: Promise<unknown>, message: RegExp): Promise<void> {
  const { InputError } = await import("../../src/nblast/errors.ts");
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected an InputError matching ${message}, got none`);
  if (!(err instanceof InputError)) throw err;
  if (!message.test(err.message)) throw new Error(`InputError message ${JSON.stringify(err.message)} does not match ${message}`);
}
