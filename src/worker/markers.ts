/**
 * What a bin leaves beside its shard: `done/K.json`, written only after the whole shard
 * (so a marker always names a complete shard and its sha256), and `failed/K.json`, written
 * when the bin fails with its message (removed when the bin later succeeds). A killed
 * worker leaves neither: the bin is then simply pending.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import type { RunManifest } from "../plan/manifest.ts";
import { readManifest } from "../plan/manifest.ts";
import { mapLimit } from "../results/map-limit.ts";
import { binBalance, type BinBalance } from "./balance.ts";
import { shardKey } from "../results/shard.ts";
import { NotFoundError, type Storage } from "../storage/types.ts";

export const DONE_FORMAT = "nblast-fanout/bin-done";
export const FAILED_FORMAT = "nblast-fanout/bin-failed";
export const MARKER_VERSION = 1;

export function doneKey(bin: number): string {
  return `done/${bin}.json`;
}

export function failedKey(bin: number): string {
  return `failed/${bin}.json`;
}

const seconds = z.number().nonnegative();

export const doneMarkerSchema = z.object({
  format: z.literal(DONE_FORMAT),
  version: z.literal(MARKER_VERSION),
  bin: z.int().nonnegative(),
  bins: z.int().positive(),
  /** The run manifest's digest: a marker belongs to one plan. */
  manifest: z.string(),
  shard: z.object({ key: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), rows: z.int().nonnegative(), bytes: z.int().nonnegative() }),
  /** Pairs of the plan scored (upper layout: unordered pairs, both directions). */
  pairs: z.int().nonnegative(),
  /** Of `pairs`, those whose score bound proved them below minScore, never searched (absent in older markers). */
  pruned: z.int().nonnegative().optional(),
  /** Nearest-neighbour queries made: query points searched in a target's tree (absent in older markers). */
  searches: z.int().nonnegative().optional(),
  /** Rows the threads produced before topN (after minScore). */
  rowsComputed: z.int().nonnegative(),
  threads: z.int().positive(),
  host: z.string(),
  /** The process that computed the bin (absent in markers of older versions). */
  pid: z.int().positive().optional(),
  tool: z.object({ name: z.string(), version: z.string() }),
  cache: z.object({ uri: z.string(), checksum: z.string(), precision: z.string() }),
  timings: z.object({ load: seconds, selfScores: seconds, scoring: seconds, write: seconds, total: seconds }),
  /** Peak resident memory of the process so far (process.resourceUsage().maxRSS), bytes. */
  peakMemory: z.int().nonnegative(),
  /** The bin's neurons in the shared block, and the k-d trees built once into a second shared block. */
  neurons: z.object({ count: z.int().nonnegative(), points: z.int().nonnegative(), bytes: z.int().nonnegative() }),
  trees: z.object({ built: z.int().nonnegative(), points: z.int().nonnegative(), bytes: z.int().nonnegative() }),
  finishedAt: z.string(),
});

export type DoneMarker = z.infer<typeof doneMarkerSchema>;

export const failedMarkerSchema = z.object({
  format: z.literal(FAILED_FORMAT),
  version: z.literal(MARKER_VERSION),
  bin: z.int().nonnegative(),
  manifest: z.string(),
  error: z.string(),
  message: z.string(),
  host: z.string(),
  tool: z.object({ name: z.string(), version: z.string() }),
  at: z.string(),
});

export type FailedMarker = z.infer<typeof failedMarkerSchema>;

async function getJson(storage: Storage, key: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null; // present but unreadable (not JSON)
  }
}

export type DoneCheck =
  | { readonly state: "done"; readonly marker: DoneMarker }
  | { readonly state: "absent" }
  /** A marker that does not hold: unreadable, from another plan, or its shard missing or different. */
  | { readonly state: "stale"; readonly reason: string };

/**
 * Whether bin `bin` of this run is done: its marker is valid, belongs to this manifest, and
 * its shard exists with the recorded size and (verify "checksum", the default) sha256.
 */
export async function checkDone(
  run: Storage,
  manifest: RunManifest,
  bin: number,
  verify: "checksum" | "size" = "checksum",
): Promise<DoneCheck> {
  const raw = await getJson(run, doneKey(bin));
  if (raw === undefined) return { state: "absent" };
  const parsed = doneMarkerSchema.safeParse(raw);
  if (!parsed.success) return { state: "stale", reason: `${doneKey(bin)} is not a readable done marker` };
  const marker = parsed.data;
  if (marker.manifest !== manifest.digest || marker.bin !== bin) {
    return { state: "stale", reason: `${doneKey(bin)} belongs to another plan or bin` };
  }
  if (marker.shard.key !== shardKey(bin)) return { state: "stale", reason: `${doneKey(bin)} names another shard` };
  if (verify === "size") {
    const size = await run.size(marker.shard.key);
    if (size !== marker.shard.bytes) return { state: "stale", reason: `${marker.shard.key} is missing or of another size` };
    return { state: "done", marker };
  }
  const size = await run.size(marker.shard.key);
  if (size === undefined) return { state: "stale", reason: `${marker.shard.key} is missing` };
  if (size !== marker.shard.bytes) {
    return { state: "stale", reason: `${marker.shard.key} has ${size} bytes, its done marker ${doneKey(bin)} records ${marker.shard.bytes}` };
  }
  const sha = await hashObject(run, marker.shard.key, size);
  if (sha === undefined) return { state: "stale", reason: `${marker.shard.key} is missing` };
  if (sha !== marker.shard.sha256) {
    return {
      state: "stale",
      reason: `${marker.shard.key} does not match its done marker: sha256 ${sha}, ${doneKey(bin)} records ${marker.shard.sha256}`,
    };
  }
  return { state: "done", marker };
}

/** Bytes hashed per ranged read: a shard is never held whole for its checksum. */
const HASH_CHUNK = 16 << 20;

/** sha256 (hex) of an object of `size` bytes, read in ranges; undefined when it is gone. */
export async function hashObject(storage: Storage, key: string, size: number): Promise<string | undefined> {
  const hash = createHash("sha256");
  try {
    for (let at = 0; at < size; ) {
      const chunk = await storage.getRange(key, at, Math.min(HASH_CHUNK, size - at));
      if (chunk.length === 0) return `(none: the file ended at byte ${at})`; // shrank while read: never matches
      hash.update(chunk);
      at += chunk.length;
    }
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  return hash.digest("hex");
}

export async function readFailed(run: Storage, bin: number): Promise<FailedMarker | undefined> {
  const parsed = failedMarkerSchema.safeParse(await getJson(run, failedKey(bin)));
  return parsed.success ? parsed.data : undefined;
}

export interface BinStatus {
  readonly bins: number;
  /** Bins with a done marker of this plan whose shard is present with the recorded size. */
  readonly done: number[];
  /** Bins whose last attempt failed (and are not done), with the message. */
  readonly failed: { bin: number; message: string; host: string; at: string }[];
  /** Everything else: never run, running, or killed mid-way (stale bins included: they must run again). */
  readonly pending: number[];
  /** Bins whose done marker does not hold: unreadable, of another plan, or its shard missing, of another size or (verify "checksum") another sha256. Never counted done. */
  readonly stale: { bin: number; reason: string }[];
  readonly counts: { done: number; failed: number; pending: number };
  /** What the done bins' markers add up to (throughput, ETA and cost of a remote run). */
  readonly totals: DoneTotals;
}

export interface DoneTotals {
  readonly pairs: number;
  readonly rows: number;
  /** Sum of threads x wall seconds of the done bins: the vCPU-seconds their computation held. */
  readonly vcpuSeconds: number;
  /** Sum of the plan's estimated cost of the done bins, and of every bin. */
  readonly planCost: number;
  readonly planCostTotal: number;
  /** Earliest start and latest finish of a done bin (ms since the epoch), when any is done. */
  readonly firstStarted: number | undefined;
  readonly lastFinished: number | undefined;
  /** The done bins' estimated cost beside their measured compute. */
  readonly balance: BinBalance;
}

/**
 * Where a run stands, from its markers. A done bin's shard is checked by size (cheap enough
 * to poll, on S3 too), or with verify "checksum" re-hashed against its marker's sha256 (what
 * `status --verify`, `export` and `top` do; a worker rerun re-hashes before it skips a bin).
 * A marker that does not hold is listed in `stale`, and the bin is not done.
 */
export async function binStatus(run: Storage, opts: { concurrency?: number; verify?: "size" | "checksum" } = {}): Promise<BinStatus> {
  const manifest = await readManifest(run);
  const bins = manifest.work.bins.length;
  const binOf = (key: string, dir: string): number | undefined => {
    const m = new RegExp(`^${dir}/(\\d+)\\.json$`).exec(key);
    const b = m ? Number(m[1]) : NaN;
    return Number.isSafeInteger(b) && b < bins ? b : undefined;
  };
  const [doneKeys, failedKeys] = await Promise.all([run.list("done/"), run.list("failed/")]);
  const doneBins = doneKeys.map((k) => binOf(k, "done")).filter((b): b is number => b !== undefined);
  const failedBins = failedKeys.map((k) => binOf(k, "failed")).filter((b): b is number => b !== undefined);
  const limit = opts.concurrency ?? 16;
  const verify = opts.verify ?? "size";
  const checks = await mapLimit(doneBins, verify === "checksum" ? Math.min(limit, 4) : limit, (b) => checkDone(run, manifest, b, verify));
  const done = doneBins.filter((_, i) => checks[i].state === "done").sort((a, b) => a - b);
  const stale: { bin: number; reason: string }[] = [];
  checks.forEach((c, i) => {
    if (c.state === "stale") stale.push({ bin: doneBins[i], reason: `${run.uri}/${c.reason}` });
  });
  stale.sort((a, b) => a.bin - b.bin);
  const totals = { pairs: 0, rows: 0, vcpuSeconds: 0, planCost: 0, planCostTotal: 0, firstStarted: undefined as number | undefined, lastFinished: undefined as number | undefined };
  for (const bin of manifest.work.bins) totals.planCostTotal += bin.cost;
  const estimated: number[] = [];
  const measured: number[] = [];
  for (const c of checks) {
    if (c.state !== "done") continue;
    const m = c.marker;
    estimated.push(manifest.work.bins[m.bin].cost);
    measured.push(m.threads * (m.timings.selfScores + m.timings.scoring));
    totals.pairs += m.pairs;
    totals.rows += m.shard.rows;
    totals.vcpuSeconds += m.threads * m.timings.total;
    totals.planCost += manifest.work.bins[m.bin].cost;
    const finished = Date.parse(m.finishedAt);
    if (Number.isFinite(finished)) {
      const started = finished - m.timings.total * 1000;
      totals.firstStarted = Math.min(totals.firstStarted ?? started, started);
      totals.lastFinished = Math.max(totals.lastFinished ?? finished, finished);
    }
  }
  const doneSet = new Set(done);
  const failedMarkers = await mapLimit(
    failedBins.filter((b) => !doneSet.has(b)),
    limit,
    async (b) => ({ b, m: await readFailed(run, b) }),
  );
  const failed = failedMarkers
    .filter(({ m }) => m !== undefined && m.manifest === manifest.digest)
    .map(({ b, m }) => ({ bin: b, message: m!.message, host: m!.host, at: m!.at }))
    .sort((a, b) => a.bin - b.bin);
  const failedSet = new Set(failed.map((f) => f.bin));
  const pending: number[] = [];
  for (let b = 0; b < bins; b++) if (!doneSet.has(b) && !failedSet.has(b)) pending.push(b);
  return {
    bins,
    done,
    failed,
    pending,
    stale,
    counts: { done: done.length, failed: failed.length, pending: pending.length },
    totals: { ...totals, balance: binBalance(estimated, measured) },
  };
}
