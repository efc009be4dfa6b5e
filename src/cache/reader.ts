/**
 * openCache: reads cache.json and index.bin (never the data), then serves neurons by id or by
 * index range with one ranged read each, as typed-array views on the bytes that came back.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { compareIdAt, idKey, idWords, searchIds } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { Dotprops, DotpropsParams } from "../nblast/types.ts";
import { NotFoundError } from "../storage/types.ts";
import type { Storage } from "../storage/types.ts";
import { blockViews, neuronChecksum } from "./block.ts";
import {
  CHECKSUM_BYTES,
  CHECKSUM_NAME,
  DATA_HEADER_BYTES,
  DATA_KEY,
  FORMAT_NAME,
  FORMAT_VERSION,
  INDEX_KEY,
  MANIFEST_KEY,
  blockBytes,
  bytesPerValue,
  checkDataHeader,
  decodeIndex,
  formatParams,
  paramsEqual,
  paramsFromJson,
} from "./format.ts";
import type { IndexColumns, Manifest, Precision } from "./format.ts";

/** readAll and verifyCache fetch at most this much per request. */
const CHUNK_BYTES = 64 << 20;
const CONCURRENT_CHUNKS = 4;

const summarySchema = z.object({ min: z.number(), median: z.number(), mean: z.number(), max: z.number() });
const fileSchema = z.object({ bytes: z.number().int().nonnegative() });
const manifestSchema = z.object({
  format: z.string(),
  version: z.number().int(),
  params: z.object({
    scale: z.number(),
    simplify: z.number().nullable(),
    resample: z.number().nullable(),
    k: z.number().int().positive(),
  }),
  precision: z.enum(["float32", "float64"]),
  neurons: z.number().int().nonnegative(),
  totalPoints: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  checksums: z.literal(CHECKSUM_NAME),
  files: z.object({
    [DATA_KEY]: fileSchema,
    [INDEX_KEY]: fileSchema.extend({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    "report.json": fileSchema,
  }),
  stats: z.object({ points: summarySchema, cable: summarySchema }),
  failed: z.object({
    count: z.number().int().nonnegative(),
    first: z.array(z.object({ name: z.string(), reason: z.string() })),
  }),
  warned: z
    .object({ count: z.number().int().nonnegative(), first: z.array(z.object({ name: z.string(), warning: z.string() })) })
    .optional(),
  simplified: z
    .object({
      count: z.number().int().nonnegative(),
      first: z.array(z.object({ name: z.string(), droppedTrees: z.number().int().nonnegative(), stoppedEarly: z.string().nullable() })),
    })
    .optional(),
});

export interface ReadOptions {
  /** Check each neuron's bytes against its checksum in the index (default true). */
  verify?: boolean;
}

export interface OpenOptions {
  /** The cache this one is a local copy of (its URI), named in messages about damage. */
  copyOf?: string;
}

/**
 * A neuron whose bytes in dotprops.bin do not match the checksum its index record holds: the
 * cache was damaged after it was built (a flipped bit, a truncated copy, an edit). An
 * InputError (the CLI prints it alone): the data, not the program, is wrong.
 */
export class CacheIntegrityError extends InputError {
  /** The damaged neuron. */
  readonly neuronId: bigint;
  readonly neuronName: string;

  /** `message` names the cache itself (and the copy's origin), so no source prefix is added. */
  constructor(message: string, neuronId: bigint, neuronName: string) {
    super(message);
    this.neuronId = neuronId;
    this.neuronName = neuronName;
  }
}

export class CacheReader {
  readonly uri: string;
  readonly manifest: Manifest;
  readonly params: DotpropsParams;
  readonly precision: Precision;
  /** sha256 (hex) of dotprops.bin then index.bin, as recorded at build time. */
  readonly checksum: string;
  /** One entry per neuron, sorted by id. */
  readonly neurons: IndexColumns;
  readonly count: number;
  readonly totalPoints: number;
  readonly storage: Storage;
  /** The remote cache this is a local copy of, if it is one. */
  readonly copyOf: string | undefined;
  private readonly bpv: 4 | 8;
  private readonly idw: Uint32Array;

  constructor(storage: Storage, manifest: Manifest, neurons: IndexColumns, opts: OpenOptions = {}) {
    this.storage = storage;
    this.uri = storage.uri;
    this.manifest = manifest;
    this.params = paramsFromJson(manifest.params);
    this.precision = manifest.precision;
    this.checksum = manifest.sha256;
    this.neurons = neurons;
    this.count = neurons.ids.length;
    this.totalPoints = manifest.totalPoints;
    this.copyOf = opts.copyOf;
    this.bpv = bytesPerValue(manifest.precision);
    this.idw = idWords(neurons.ids);
  }

  /** Position of a neuron id in the cache, or -1. */
  indexOf(id: bigint): number {
    return searchIds(this.idw, this.count, idKey(id));
  }

  /**
   * Positions in the cache of `ids` (ascending, as a plan's lists are), -1 for an id the cache
   * lacks. One merge walk over the two sorted columns, no BigInt allocated.
   */
  positionsOf(ids: BigInt64Array): Int32Array {
    const out = new Int32Array(ids.length);
    const w = idWords(ids);
    const cw = this.idw;
    let j = 0;
    for (let i = 0; i < ids.length; i++) {
      if (i > 0 && compareIdAt(w, i, w, i - 1) <= 0) throw new RangeError("positionsOf: ids must be strictly ascending");
      while (j < this.count && compareIdAt(cw, j, w, i) < 0) j++;
      out[i] = j < this.count && compareIdAt(cw, j, w, i) === 0 ? j : -1;
    }
    return out;
  }

  /** Data bytes one ranged read of neurons [i0, i1) fetches. */
  rangeBytes(i0: number, i1: number): number {
    if (i1 <= i0) return 0;
    const { offsets, points } = this.neurons;
    return offsets[i1 - 1] + blockBytes(points[i1 - 1], this.bpv) - offsets[i0];
  }

  /** One neuron by id (one ranged read). */
  async read(id: bigint, opts: ReadOptions = {}): Promise<Dotprops> {
    const i = this.indexOf(id);
    if (i < 0) throw new InputError(`no neuron with id ${id} in this cache`, { source: this.uri });
    return (await this.readRange(i, i + 1, opts))[0];
  }

  /**
   * Neurons [i0, i1) in index (= id) order with one ranged read, each checked against its
   * checksum (unless `verify: false`): a damaged neuron is a CacheIntegrityError naming it.
   * The arrays are views on one buffer: keeping any of them keeps the whole range in memory.
   */
  async readRange(i0: number, i1: number, opts: ReadOptions = {}): Promise<Dotprops[]> {
    if (!Number.isInteger(i0) || !Number.isInteger(i1) || i0 < 0 || i1 > this.count || i0 > i1) {
      throw new RangeError(`readRange(${i0}, ${i1}) outside 0..${this.count}`);
    }
    if (i0 === i1) return [];
    const { offsets, points } = this.neurons;
    const start = offsets[i0];
    const length = this.rangeBytes(i0, i1);
    let bytes = await this.storage.getRange(DATA_KEY, start, length);
    if (bytes.length !== length) {
      throw new InputError(`${DATA_KEY} is truncated: asked for ${length} bytes at ${start}, got ${bytes.length} (rebuild the cache)`, {
        source: this.uri,
      });
    }
    if (opts.verify ?? true) {
      const bad = this.damaged(bytes, i0, i1);
      if (bad.length > 0) throw this.integrityError(bad[0], bad.length);
    }
    // Blocks are 8-aligned in the file; the bytes must be as aligned in memory for the views.
    if (bytes.byteOffset % this.bpv !== 0) bytes = bytes.slice();
    const out = new Array<Dotprops>(i1 - i0);
    for (let i = i0; i < i1; i++) {
      out[i - i0] = blockViews(bytes.buffer as ArrayBuffer, bytes.byteOffset + (offsets[i] - start), points[i], this.bpv);
    }
    return out;
  }

  /**
   * Neurons of [i0, i1) whose bytes (`bytes` holds the range as readRange reads it) do not
   * match their checksums.
   */
  damaged(bytes: Uint8Array, i0: number, i1: number): number[] {
    const { offsets, points, checksums } = this.neurons;
    const start = offsets[i0];
    const bad: number[] = [];
    for (let i = i0; i < i1; i++) {
      const at = offsets[i] - start;
      const sum = neuronChecksum(bytes.subarray(at, at + blockBytes(points[i], this.bpv)));
      const want = checksums.subarray(CHECKSUM_BYTES * i, CHECKSUM_BYTES * (i + 1));
      for (let k = 0; k < CHECKSUM_BYTES; k++) {
        if (sum[k] !== want[k]) {
          bad.push(i);
          break;
        }
      }
    }
    return bad;
  }

  /** The error for damaged neuron i (and `more - 1` others in the same read). */
  integrityError(i: number, more = 1): CacheIntegrityError {
    const { ids, names, offsets, points } = this.neurons;
    const id = ids[i];
    const end = offsets[i] + blockBytes(points[i], this.bpv);
    const others = more > 1 ? ` (and ${more - 1} more neuron(s) of the same read)` : "";
    const origin = this.copyOf === undefined ? `cache ${this.uri}` : `the local copy ${this.uri} of cache ${this.copyOf}`;
    const fix =
      this.copyOf === undefined
        ? `check it with \`nblast-fanout cache info --verify ${this.uri}\`, then rebuild it with \`nblast-fanout cache build\` ` +
          "(same inputs and options give the same cache, so the run's plan stays valid) and rerun the failed bins"
        : `delete the folder ${this.uri} (the next bin copies the cache again and verifies it) and rerun the failed bins`;
    return new CacheIntegrityError(
      `${origin} is damaged: neuron ${id} (${names[i]}) does not match its checksum ` +
        `(bytes ${offsets[i]}-${end} of ${DATA_KEY})${others}, so its data was not used. To repair: ${fix}`,
      id,
      names[i],
    );
  }

  /** Every neuron, fetched in chunks of up to 64 MiB, a few at a time. */
  async readAll(opts: ReadOptions = {}): Promise<Dotprops[]> {
    const chunks = this.chunks(CHUNK_BYTES);
    const parts = await mapLimit(chunks, CONCURRENT_CHUNKS, ([a, b]) => this.readRange(a, b, opts));
    return parts.flat();
  }

  /** Splits [0, count) into consecutive ranges of at most `maxBytes` of data (or one neuron). */
  chunks(maxBytes: number): [number, number][] {
    const out: [number, number][] = [];
    let i0 = 0;
    for (let i = 1; i <= this.count; i++) {
      if (i === this.count || this.rangeBytes(i0, i + 1) > maxBytes) {
        out.push([i0, i]);
        i0 = i;
      }
    }
    return out;
  }
}

export async function openCache(storage: Storage, opts: OpenOptions = {}): Promise<CacheReader> {
  const fail = (what: string): InputError => new InputError(`not a usable dotprops cache: ${what}`, { source: storage.uri });
  const manifest = await readManifest(storage);
  const indexBytes = await getOrFail(storage, INDEX_KEY, fail);
  const expectIndex = manifest.files[INDEX_KEY];
  if (indexBytes.length !== expectIndex.bytes) {
    throw fail(`${INDEX_KEY} has ${indexBytes.length} bytes, ${MANIFEST_KEY} says ${expectIndex.bytes} (truncated or from another build)`);
  }
  // The index is read whole on every open, so it is checked whole: every byte a bin uses is verified.
  const indexSha = createHash("sha256").update(indexBytes).digest("hex");
  if (indexSha !== expectIndex.sha256) {
    throw fail(
      `${INDEX_KEY} is damaged (sha256 ${indexSha}, ${MANIFEST_KEY} says ${expectIndex.sha256}); rebuild the cache with \`nblast-fanout cache build\``,
    );
  }
  const { header, cols } = decodeIndex(indexBytes, fail);
  const bpv = bytesPerValue(manifest.precision);
  if (
    header.count !== manifest.neurons ||
    header.totalPoints !== manifest.totalPoints ||
    header.bytesPerValue !== bpv ||
    header.dataBytes !== manifest.files[DATA_KEY].bytes ||
    !paramsEqual(header.params, paramsFromJson(manifest.params))
  ) {
    throw fail(`${INDEX_KEY} does not match ${MANIFEST_KEY} (neurons, points, precision, size or params: ${formatParams(header.params)})`);
  }
  const dataSize = await storage.size(DATA_KEY);
  if (dataSize === undefined) throw fail(`${DATA_KEY} is missing`);
  if (dataSize !== header.dataBytes) {
    throw fail(`${DATA_KEY} has ${dataSize} bytes, ${MANIFEST_KEY} says ${header.dataBytes} (truncated or from another build)`);
  }
  checkDataHeader(await storage.getRange(DATA_KEY, 0, DATA_HEADER_BYTES), bpv, fail);
  return new CacheReader(storage, manifest, cols, opts);
}

/** How to rebuild a cache of an older format, for the refusal's message. */
function rebuildHint(uri: string): string {
  return `rebuild it with this version: \`nblast-fanout cache build --input YOUR_INPUTS --out ${uri}\` (or \`run --input ...\` into a new --out), then plan the run again`;
}

/** cache.json, validated: format name, version and fields. */
export async function readManifest(storage: Storage): Promise<Manifest> {
  const fail = (what: string): InputError => new InputError(`not a usable dotprops cache: ${what}`, { source: storage.uri });
  let text: string;
  try {
    text = new TextDecoder().decode(await storage.get(MANIFEST_KEY));
  } catch (err) {
    if (err instanceof NotFoundError) throw fail(`no ${MANIFEST_KEY} (not a cache, or its build did not finish)`);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`${MANIFEST_KEY} is not valid JSON (${(err as Error).message})`);
  }
  const head = json as { format?: unknown; version?: unknown };
  if (head?.format !== FORMAT_NAME) throw fail(`${MANIFEST_KEY} format is ${JSON.stringify(head?.format)}, expected "${FORMAT_NAME}"`);
  if (head.version === 1) {
    throw fail(
      `cache format version 1 was written by an older nblast-fanout: its ids stop at 2^53 and its reads cannot be verified ` +
        `(no per-neuron checksums); this program reads version ${FORMAT_VERSION}. ${rebuildHint(storage.uri)}`,
    );
  }
  if (head.version !== FORMAT_VERSION) {
    throw fail(`cache format version ${JSON.stringify(head.version)}; this program reads version ${FORMAT_VERSION} (${rebuildHint(storage.uri)})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`${MANIFEST_KEY} field ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data as Manifest;
}

export interface VerifyResult {
  sha256: string;
  bytes: number;
}

/**
 * Re-hashes dotprops.bin then index.bin and compares with cache.json. Reads everything once,
 * in ranged chunks, so it works the same on S3. On a mismatch, a second pass checks every
 * neuron against its own checksum, so the error names the damaged neurons.
 */
export async function verifyCache(storage: Storage, opts: OpenOptions = {}): Promise<VerifyResult> {
  const reader = await openCache(storage, opts);
  const hash = createHash("sha256");
  let bytes = 0;
  for (const key of [DATA_KEY, INDEX_KEY]) {
    const size = reader.manifest.files[key as typeof DATA_KEY].bytes;
    let next: Promise<Uint8Array> | undefined = size > 0 ? storage.getRange(key, 0, Math.min(CHUNK_BYTES, size)) : undefined;
    for (let at = 0; at < size; ) {
      const chunk = await (next as Promise<Uint8Array>);
      const following = at + chunk.length;
      next = following < size ? storage.getRange(key, following, Math.min(CHUNK_BYTES, size - following)) : undefined;
      if (chunk.length === 0) throw new InputError(`not a usable dotprops cache: ${key} is truncated at ${at} bytes`, { source: storage.uri });
      hash.update(chunk);
      at = following;
      bytes += chunk.length;
    }
  }
  const sha256 = hash.digest("hex");
  if (sha256 !== reader.checksum) {
    const bad: number[] = [];
    for (const [a, b] of reader.chunks(CHUNK_BYTES)) {
      const range = await storage.getRange(DATA_KEY, reader.neurons.offsets[a], reader.rangeBytes(a, b));
      bad.push(...reader.damaged(range, a, b));
    }
    const { ids, names } = reader.neurons;
    const list = bad.slice(0, 10).map((i) => `${ids[i]} (${names[i]})`).join(", ") + (bad.length > 10 ? ` and ${bad.length - 10} more` : "");
    const which =
      bad.length > 0
        ? `; damaged neuron(s): ${list}`
        : "; every neuron matches its own checksum, so the damage is in the file header or padding";
    throw new InputError(
      `checksum mismatch: ${MANIFEST_KEY} says sha256 ${reader.checksum}, ${DATA_KEY} + ${INDEX_KEY} hash to ${sha256}${which} ` +
        "(the cache was changed or damaged; rebuild it with `nblast-fanout cache build`)",
      { source: storage.uri },
    );
  }
  return { sha256, bytes };
}

async function getOrFail(storage: Storage, key: string, fail: (what: string) => InputError): Promise<Uint8Array> {
  try {
    return await storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) throw fail(`${key} is missing`);
    throw err;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
