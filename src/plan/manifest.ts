/**
 * The immutable run manifest, RUN_URI/manifest.json: everything a worker needs (cache,
 * scoring, storage policy, the exact work of every bin) so that no worker recomputes any
 * part of the plan. Deterministic: the same inputs give the same bytes (no timestamp
 * unless one is passed in). `digest` is the sha256 of the file with the digest's hex
 * replaced by zeros, so any edit after planning is refused.
 */
import { createHash } from "node:crypto";
import * as z from "zod";
import { firstNotAscending, formatIdAt, idWords, idsFromText, idsToText, parseIdInto } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { DotpropsParams } from "../nblast/types.ts";
import { NotFoundError, type Storage } from "../storage/types.ts";
import type { CostModel } from "./cost.ts";
import { DEFAULT_COST_MODEL } from "./cost.ts";
import { summarizeCost } from "./bins.ts";
import { selfColumns } from "./chain.ts";
import { pruneDistanceOf } from "./candidates.ts";
import { formatJson } from "./json.ts";
import { NORMALIZATIONS, isSymmetric, type Balance, type Normalization, type WorkPlan } from "./types.ts";

export const MANIFEST_KEY = "manifest.json";
export const MANIFEST_FORMAT = "nblast-fanout/run-manifest";
/** 2: ids are decimal strings (0 to 2^63 - 1); version 1 had JSON numbers, exact only to 2^53. */
export const MANIFEST_VERSION = 2;

const ZERO_DIGEST = "sha256:" + "0".repeat(64);

/** JSON has no Infinity: non-finite numbers are written as these strings. */
const jsonNumber = z.union([z.number(), z.literal("Infinity"), z.literal("-Infinity")]);
/**
 * An id as JSON: a decimal string in canonical form (no sign, no leading zero), since JSON
 * numbers are doubles to most readers and ids pass 2^53. Canonical, so that equal ids are
 * equal strings and a manifest's bytes are deterministic.
 */
const id = z.string(); // form and range: checkConsistency (one pass that also parses them)
const position = z.int().nonnegative();
const range = z.tuple([position, position]);

const smatSchema = z.strictObject({
  name: z.string(),
  distBreaks: z.array(jsonNumber).min(2),
  dotBreaks: z.array(jsonNumber).min(2),
  /** Row-major: distance bin i, |dot| bin j at i * (dotBreaks.length - 1) + j. */
  values: z.array(jsonNumber).min(1),
});

const costSummarySchema = z.strictObject({
  bins: z.int().nonnegative(),
  total: z.number().nonnegative(),
  min: z.number().nonnegative(),
  median: z.number().nonnegative(),
  max: z.number().nonnegative(),
  mean: z.number().nonnegative(),
  maxOverMean: z.number().nonnegative(),
});

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "expected sha256:<64 hex digits>"),
  tool: z.strictObject({ name: z.string().min(1), version: z.string().min(1) }),
  created: z
    .strictObject({ at: z.string().optional(), by: z.string().optional(), command: z.array(z.string()).optional() })
    .optional(),
  cache: z.strictObject({
    uri: z.string().min(1),
    checksum: z.string().min(1),
    params: z.strictObject({
      scale: z.number().positive(),
      simplify: z.int().positive().nullable(),
      resample: z.number().positive().nullable(),
      k: z.int().positive(),
    }),
  }),
  selection: z.strictObject({
    minLength: z.number().nonnegative().nullable(),
    maxLength: z.number().nonnegative().nullable(),
    allByAll: z.boolean(),
    queries: z.int().positive(),
    targets: z.int().positive(),
  }),
  scoring: z.strictObject({
    normalization: z.enum(NORMALIZATIONS as [Normalization, ...Normalization[]]),
    useAlpha: z.boolean(),
    smat: smatSchema,
  }),
  storage: z.strictObject({
    minScore: jsonNumber.nullable(),
    topN: z.int().positive().nullable(),
    keepSelf: z.boolean(),
    keepForwardReverse: z.boolean(),
  }),
  plan: z.strictObject({
    balance: z.enum(["cost", "cable"]),
    costModel: z.strictObject({ queryOverhead: z.number().nonnegative(), treeBuild: z.number().nonnegative() }),
    estimate: costSummarySchema,
  }),
  work: z.strictObject({
    layout: z.enum(["rows", "upper"]),
    diagonal: z.boolean(),
    queries: z.array(id).min(1),
    targets: z.union([z.literal("queries"), z.array(id).min(1)]),
    bins: z
      .array(z.strictObject({ cost: z.number().nonnegative(), blocks: z.array(z.strictObject({ rows: range, cols: range })).min(1) }))
      .min(1),
    // absent in plans of every pair, in ascending id order
    order: z.literal("space").optional(),
    skipped: z.strictObject({ distance: z.number().positive(), pairs: z.int().nonnegative() }).optional(),
  }),
});

export type RunManifest = z.infer<typeof manifestSchema>;

/** The score matrix as src/nblast/smat.ts holds it (any array-like of numbers). */
export interface ScoreMatrixLike {
  readonly name: string;
  readonly distBreaks: ArrayLike<number>;
  readonly dotBreaks: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

export interface ManifestInputs {
  readonly tool: { readonly name?: string; readonly version: string };
  readonly cache: { readonly uri: string; readonly checksum: string; readonly params: DotpropsParams };
  readonly selection: { readonly minLength?: number; readonly maxLength?: number };
  readonly scoring: { readonly normalization: Normalization; readonly useAlpha: boolean; readonly smat: ScoreMatrixLike };
  readonly storage: {
    readonly minScore?: number;
    readonly topN?: number;
    readonly keepSelf: boolean;
    readonly keepForwardReverse: boolean;
  };
  readonly balance: Balance;
  readonly costModel?: CostModel;
  readonly work: WorkPlan;
  /** Only what is passed in is recorded: no clock is read, so reruns stay byte-identical. */
  readonly created?: { readonly at?: string; readonly by?: string; readonly command?: readonly string[] };
}

/** Assembles, checks and seals (digests) a manifest. */
export function buildManifest(inputs: ManifestInputs): RunManifest {
  const { work, scoring, storage } = inputs;
  if (work.diagonal !== storage.keepSelf) throw new Error("buildManifest: work.diagonal must equal storage.keepSelf");
  if (storage.keepForwardReverse && !isSymmetric(scoring.normalization)) {
    // raw and normalized runs score one direction only: there is no reverse score to keep.
    throw new InputError(
      `--keep-forward-reverse needs a symmetric mode (mean, geometric-mean, min, max, harmonic-mean), not ${scoring.normalization}`,
    );
  }
  const model = inputs.costModel ?? DEFAULT_COST_MODEL;
  const nT = work.targets === "queries" ? work.queries.length : work.targets.length;
  const draft: RunManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    digest: ZERO_DIGEST,
    tool: { name: inputs.tool.name ?? "nblast-fanout", version: inputs.tool.version },
    created:
      inputs.created === undefined
        ? undefined
        : {
            at: inputs.created.at,
            by: inputs.created.by,
            command: inputs.created.command === undefined ? undefined : [...inputs.created.command],
          },
    cache: {
      uri: inputs.cache.uri,
      checksum: inputs.cache.checksum,
      params: {
        scale: inputs.cache.params.scale,
        simplify: inputs.cache.params.simplify ?? null,
        resample: inputs.cache.params.resample ?? null,
        k: inputs.cache.params.k,
      },
    },
    selection: {
      minLength: inputs.selection.minLength ?? null,
      maxLength: inputs.selection.maxLength ?? null,
      allByAll: work.targets === "queries",
      queries: work.queries.length,
      targets: nT,
    },
    scoring: {
      normalization: scoring.normalization,
      useAlpha: scoring.useAlpha,
      smat: {
        name: scoring.smat.name,
        distBreaks: encodeNumbers(scoring.smat.distBreaks, "distBreaks"),
        dotBreaks: encodeNumbers(scoring.smat.dotBreaks, "dotBreaks"),
        values: encodeNumbers(scoring.smat.values, "values"),
      },
    },
    storage: {
      minScore: storage.minScore === undefined ? null : encodeNumber(storage.minScore, "minScore"),
      topN: storage.topN ?? null,
      keepSelf: storage.keepSelf,
      keepForwardReverse: storage.keepForwardReverse,
    },
    plan: {
      balance: inputs.balance,
      costModel: { queryOverhead: model.queryOverhead, treeBuild: model.treeBuild },
      estimate: summarizeCost(work.bins),
    },
    work: {
      layout: work.layout,
      diagonal: work.diagonal,
      queries: idsToText(work.queries),
      targets: work.targets === "queries" ? "queries" : idsToText(work.targets),
      bins: work.bins.map((b) => ({
        cost: b.cost,
        blocks: b.blocks.map((k) => ({ rows: [k.rows[0], k.rows[1]], cols: [k.cols[0], k.cols[1]] })),
      })),
      order: work.order,
      skipped: work.skipped === undefined ? undefined : { distance: work.skipped.distance, pairs: work.skipped.pairs },
    },
  };
  const draftText = formatJson(draft);
  // the draft must already be a valid manifest; a failure here is a planner bug
  const checked = validate(JSON.parse(draftText), "new manifest", false);
  checkConsistency(checked, "new manifest");
  return { ...draft, digest: "sha256:" + sha256(draftText) };
}

/**
 * The same plan with its cache at another URI (a local cache uploaded to S3 for the cloud),
 * sealed again: a new digest, since the digest covers the URI. Nothing else changes, and
 * the cache's checksum still binds the plan to the same cache bytes.
 */
export function withCacheUri(manifest: RunManifest, uri: string): RunManifest {
  const draft: RunManifest = { ...manifest, digest: ZERO_DIGEST, cache: { ...manifest.cache, uri } };
  const text = formatJson(draft);
  const sealed = { ...draft, digest: "sha256:" + sha256(text) };
  checkConsistency(validate(JSON.parse(formatJson(sealed)), "re-homed manifest", false), "re-homed manifest");
  return sealed;
}

/** The manifest's bytes (deterministic). */
export function serializeManifest(manifest: RunManifest): string {
  return formatJson(manifest);
}

/**
 * Writes RUN_URI/manifest.json once. Rerunning the same plan is fine ("unchanged");
 * a different plan for the same run is an InputError.
 */
export async function writeManifest(storage: Storage, manifest: RunManifest): Promise<"written" | "unchanged"> {
  const text = serializeManifest(manifest);
  if (await storage.putIfAbsent(MANIFEST_KEY, text)) return "written";
  const existing = new TextDecoder().decode(await storage.get(MANIFEST_KEY));
  if (existing === text) return "unchanged";
  throw new InputError(
    `run ${storage.uri} already has a different plan (${MANIFEST_KEY} differs from this one); choose a new --out`,
  );
}

/** Reads and checks RUN_URI/manifest.json. Every problem is an InputError naming the field. */
export async function readManifest(storage: Storage): Promise<RunManifest> {
  const source = `${storage.uri}/${MANIFEST_KEY}`;
  let bytes: Uint8Array;
  try {
    bytes = await storage.get(MANIFEST_KEY);
  } catch (err) {
    if (err instanceof NotFoundError) throw new InputError("no run manifest here (was the run planned?)", { source });
    throw err;
  }
  return parseManifest(new TextDecoder().decode(bytes), source);
}

/** parseManifest without storage: `source` names the file in errors. */
export function parseManifest(text: string, source: string): RunManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message})`, { source });
  }
  const m = validate(raw, source, true);
  const expected = "sha256:" + sha256(text.replace(`"digest": "${m.digest}"`, `"digest": "${ZERO_DIGEST}"`));
  if (expected !== m.digest) {
    throw new InputError(
      "the manifest was modified after planning (its digest does not match its content); plan a new run instead of editing one",
      { source },
    );
  }
  checkConsistency(m, source);
  return m;
}

/** Refuses a run whose cache changed since planning. */
export function checkCache(manifest: RunManifest, cacheChecksum: string): void {
  if (manifest.cache.checksum !== cacheChecksum) {
    throw new InputError(
      `the cache at ${manifest.cache.uri} has changed since this run was planned ` +
        `(checksum ${cacheChecksum}, the plan was made for ${manifest.cache.checksum}); plan a new run`,
    );
  }
}

/** The manifest's score matrix as typed arrays. */
export function manifestScoreMatrix(manifest: RunManifest): {
  name: string;
  distBreaks: Float64Array;
  dotBreaks: Float64Array;
  values: Float64Array;
} {
  const s = manifest.scoring.smat;
  return {
    name: s.name,
    distBreaks: Float64Array.from(s.distBreaks, decodeNumber),
    dotBreaks: Float64Array.from(s.dotBreaks, decodeNumber),
    values: Float64Array.from(s.values, decodeNumber),
  };
}

/** The manifest's storage policy, absent limits as undefined. */
export function manifestStoragePolicy(manifest: RunManifest): {
  minScore: number | undefined;
  topN: number | undefined;
  keepSelf: boolean;
  keepForwardReverse: boolean;
} {
  const s = manifest.storage;
  return {
    minScore: s.minScore === null ? undefined : decodeNumber(s.minScore),
    topN: s.topN ?? undefined,
    keepSelf: s.keepSelf,
    keepForwardReverse: s.keepForwardReverse,
  };
}

type JsonNumber = number | "Infinity" | "-Infinity";

function encodeNumber(x: number, field: string): JsonNumber {
  if (Number.isNaN(x)) throw new InputError(`${field} is NaN`, { source: "manifest" });
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  return x;
}

function encodeNumbers(xs: ArrayLike<number>, field: string): JsonNumber[] {
  const out: JsonNumber[] = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    if (Number.isNaN(xs[i])) throw new InputError(`score matrix ${field}[${i}] is NaN`);
    out[i] = encodeNumber(xs[i], field);
  }
  return out;
}

function decodeNumber(x: JsonNumber): number {
  return x === "Infinity" ? Infinity : x === "-Infinity" ? -Infinity : x;
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function validate(raw: unknown, source: string, friendlyFormat: boolean): RunManifest {
  if (friendlyFormat && typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    if (r.format !== MANIFEST_FORMAT) {
      throw new InputError(`not an nblast-fanout run manifest (format is ${JSON.stringify(r.format)}, expected "${MANIFEST_FORMAT}")`, {
        source,
      });
    }
    if (r.version === 1) {
      throw new InputError(
        `manifest version 1 was written by an older nblast-fanout (ids as JSON numbers, exact only to 2^53); this tool reads version ${MANIFEST_VERSION}. ` +
          "Plan the run again into a new folder: rebuild its cache (`nblast-fanout cache build --input ... --out CACHE`, cache format 2), " +
          "then `nblast-fanout plan --cache CACHE --out NEW_RUN ...`, or do both with `nblast-fanout run --input ... --out NEW_DIR`",
        { source },
      );
    }
    if (r.version !== MANIFEST_VERSION) {
      throw new InputError(
        `manifest version ${JSON.stringify(r.version)} is not one this tool reads (it reads version ${MANIFEST_VERSION})`,
        { source },
      );
    }
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const shown = issues.slice(0, 5).map((i) => `${fieldPath(i.path)}: ${i.message}`);
    const more = issues.length > 5 ? `; and ${issues.length - 5} more` : "";
    throw new InputError(`invalid manifest: ${shown.join("; ")}${more}`, { source });
  }
  const m = parsed.data;
  const fail = (field: string, what: string): never => {
    throw new InputError(`invalid manifest: ${field}: ${what}`, { source });
  };
  const queries = parseIds(m.work.queries, "work.queries", fail);
  const targets = m.work.targets === "queries" ? queries : parseIds(m.work.targets, "work.targets", fail);
  parsedIds.set(m, { queries, targets });
  return m;
}

/** work.bins[3].blocks[0].rows[1] */
function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s;
}

/** Checks what the schema cannot: ranges inside the lists, the bins covering the work exactly once. */
function checkConsistency(m: RunManifest, source: string): void {
  const fail = (field: string, what: string): never => {
    throw new InputError(`invalid manifest: ${field}: ${what}`, { source });
  };
  const w = m.work;
  const nQ = w.queries.length;
  const same = w.targets === "queries";
  const nT = same ? nQ : (w.targets as string[]).length;
  const diag = w.diagonal ? 1 : 0;
  if (w.diagonal !== m.storage.keepSelf) fail("work.diagonal", "must equal storage.keepSelf");
  if (w.layout === "upper" && !same) fail("work.layout", `"upper" needs work.targets = "queries"`);
  if (w.layout === "upper" && !isSymmetric(m.scoring.normalization)) {
    fail("work.layout", `"upper" computes each pair once, which needs a symmetric normalization, not ${m.scoring.normalization}`);
  }
  if (m.selection.queries !== nQ) fail("selection.queries", `says ${m.selection.queries}, work.queries has ${nQ}`);
  if (m.selection.targets !== nT) fail("selection.targets", `says ${m.selection.targets}, the work has ${nT} targets`);
  if (m.selection.allByAll !== same) fail("selection.allByAll", `must be ${same}`);
  const ids = manifestIds(m); // parsed and checked by validate()
  const space = w.order === "space";
  if (space) {
    if (!same) fail("work.order", `"space" orders an all-by-all: it needs work.targets = "queries"`);
    checkUnique(ids.queries, "work.queries", fail);
  } else {
    checkAscending(ids.queries, "work.queries", fail);
    if (!same) checkAscending(ids.targets, "work.targets", fail);
  }
  if (w.skipped !== undefined) {
    if (!space) fail("work.skipped", `pairs are skipped only in a plan in space order (work.order = "space")`);
    // the skip must be one this run's own score matrix and storage rule prove
    const proven = pruneDistanceOf(manifestScoreMatrix(m), manifestStoragePolicy(m), m.scoring.normalization);
    // skipping from a greater distance skips fewer pairs: sound; from a smaller one, not
    if (!(w.skipped.distance >= proven)) {
      fail(
        "work.skipped.distance",
        `${w.skipped.distance} um is not a distance this run may skip pairs at: its score matrix and storage rule ` +
          (proven === Infinity ? "keep pairs at any distance" : `keep pairs closer than ${proven} um`),
      );
    }
  }
  const skip = w.layout === "rows" && !diag ? selfColumns(ids.queries, ids.targets) : undefined;
  const s = m.scoring.smat;
  if (s.values.length !== (s.distBreaks.length - 1) * (s.dotBreaks.length - 1)) {
    fail(
      "scoring.smat.values",
      `has ${s.values.length} values for ${s.distBreaks.length - 1} distance x ${s.dotBreaks.length - 1} dot bins`,
    );
  }
  let units = 0;
  for (let b = 0; b < w.bins.length; b++) {
    let binUnits = 0;
    const blocks = w.bins[b].blocks;
    for (let k = 0; k < blocks.length; k++) {
      const [r0, r1] = blocks[k].rows;
      const [c0, c1] = blocks[k].cols;
      const at = `work.bins[${b}].blocks[${k}]`;
      if (!(r0 < r1 && r1 <= nQ)) fail(`${at}.rows`, `[${r0}, ${r1}) is not a non-empty range within the ${nQ} queries`);
      if (!(c0 < c1 && c1 <= nT)) fail(`${at}.cols`, `[${c0}, ${c1}) is not a non-empty range within the ${nT} targets`);
      // space order: the database finds a bin's rows by the ids of its blocks (src/db/region.ts)
      if (space && w.layout === "upper" && !((r0 === c0 && r1 === c1) || c0 >= r1)) {
        fail(at, `in space order an upper block is a diagonal tile (rows = cols) or lies right of its rows, not rows [${r0}, ${r1}) x cols [${c0}, ${c1})`);
      }
      binUnits += w.layout === "upper" ? upperUnits(r0, r1, c0, c1, diag) : rectUnits(r0, r1, c0, c1, skip);
    }
    if (binUnits === 0) fail(`work.bins[${b}]`, "has no pairs");
    units += binUnits;
  }
  const expected =
    w.layout === "upper" ? (nQ * (nQ - 1)) / 2 + diag * nQ : nQ * nT - (skip === undefined ? 0 : rectSelf(0, nQ, 0, nT, skip));
  const skipped = w.skipped?.pairs ?? 0;
  if (units + skipped !== expected) {
    fail("work.bins", `cover ${units} pairs${skipped > 0 ? ` and skip ${skipped}` : ""}, the run has ${expected}`);
  }
}

function checkUnique(ids: BigInt64Array, field: string, fail: (f: string, w: string) => never): void {
  const i = firstNotAscending(ids.slice().sort());
  if (i >= 0) fail(field, `ids must be unique (${ids.slice().sort()[i]} is listed twice)`);
}

function checkAscending(ids: BigInt64Array, field: string, fail: (f: string, w: string) => never): void {
  const i = firstNotAscending(ids);
  if (i >= 0) {
    const w = idWords(ids);
    fail(`${field}[${i}]`, `ids must be unique and ascending (${formatIdAt(w, i - 1)} then ${formatIdAt(w, i)})`);
  }
}

/**
 * Ids from their JSON strings into an id column, checking each is canonical decimal (no
 * sign, no leading zero) and at most 2^63 - 1. No BigInt arithmetic: parseIdInto.
 */
function parseIds(texts: readonly string[], field: string, fail: (f: string, w: string) => never): BigInt64Array {
  const out = new BigInt64Array(texts.length);
  const w = idWords(out);
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t.length === 0 || t.length > 19 || (t.length > 1 && t.charCodeAt(0) === 48) || !parseIdInto(t, w, i)) {
      const big = t.length > 0 && /^[1-9][0-9]*$/.test(t);
      fail(`${field}[${i}]`, big ? "id above 2^63 - 1" : "expected an id as a decimal string (0 to 2^63 - 1, no leading zeros)");
    }
  }
  return out;
}

const parsedIds = new WeakMap<RunManifest, { queries: BigInt64Array; targets: BigInt64Array }>();

/**
 * The manifest's query and target ids as id columns (targets is the same array as queries
 * when all-by-all), parsed from their decimal strings once per manifest object.
 */
export function manifestIds(m: RunManifest): { queries: BigInt64Array; targets: BigInt64Array } {
  let ids = parsedIds.get(m);
  if (ids === undefined) {
    const queries = idsFromText(m.work.queries);
    const targets = m.work.targets === "queries" ? queries : idsFromText(m.work.targets);
    ids = { queries, targets };
    parsedIds.set(m, ids);
  }
  return ids;
}

/** The manifest's work as the planner made it (ids as id columns). */
export function manifestWorkPlan(m: RunManifest): WorkPlan {
  const ids = manifestIds(m);
  return {
    layout: m.work.layout,
    diagonal: m.work.diagonal,
    queries: ids.queries,
    targets: m.work.targets === "queries" ? "queries" : ids.targets,
    bins: m.work.bins,
    order: m.work.order,
    skipped: m.work.skipped,
  };
}

/** Pairs of a rows block, less the self pairs that `skip` (selfColumns) marks. */
export function rectUnits(r0: number, r1: number, c0: number, c1: number, skip: Int32Array | undefined): number {
  const all = (r1 - r0) * (c1 - c0);
  return skip === undefined ? all : all - rectSelf(r0, r1, c0, c1, skip);
}

function rectSelf(r0: number, r1: number, c0: number, c1: number, skip: Int32Array): number {
  let n = 0;
  for (let i = r0; i < r1; i++) if (skip[i] >= c0 && skip[i] < c1) n++;
  return n;
}

/** Pairs (i, j), i in [r0, r1), j in [c0, c1), with i < j + diag. */
export function upperUnits(r0: number, r1: number, c0: number, c1: number, diag: number): number {
  // column j contributes clamp(j + diag - r0, 0, r1 - r0)
  let total = 0;
  const a = Math.max(c0, r0 - diag + 1); // first column with any row
  const b = Math.min(c1, r1 - diag); // columns below b are partial
  if (a < b) total += ((b - a) * (a + b - 1)) / 2 + (b - a) * (diag - r0);
  const full = Math.max(Math.max(c0, r1 - diag), a);
  if (full < c1) total += (c1 - full) * (r1 - r0);
  return total;
}
