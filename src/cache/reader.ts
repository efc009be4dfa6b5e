/**
 * openCache: reads cache.json and index.bin (never the data), then serves neurons by id or by
 * index range with one ranged read each, as typed-array views on the bytes that came back.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { InputError } from "../nblast/errors.ts";
import type { Dotprops, DotpropsParams } from "../nblast/types.ts";
import { NotFoundError } from "../storage/types.ts";
import type { Storage } from "../storage/types.ts";
import { blockViews } from "./block.ts";
import {
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
  files: z.object({ [DATA_KEY]: fileSchema, [INDEX_KEY]: fileSchema, "report.json": fileSchema }),
  stats: z.object({ points: summarySchema, cable: summarySchema }),
  failed: z.object({
    count: z.number().int().nonnegative(),
    first: z.array(z.object({ name: z.string(), reason: z.string() })),
  }),
});

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
  private readonly bpv: 4 | 8;

  constructor(storage: Storage, manifest: Manifest, neurons: IndexColumns) {
    this.storage = storage;
    this.uri = storage.uri;
    this.manifest = manifest;
    this.params = paramsFromJson(manifest.params);
    this.precision = manifest.precision;
    this.checksum = manifest.sha256;
    this.neurons = neurons;
    this.count = neurons.ids.length;
    this.totalPoints = manifest.totalPoints;
    this.bpv = bytesPerValue(manifest.precision);
  }

  /** Position of a neuron id in the cache, or -1. */
  indexOf(id: number): number {
    const ids = this.neurons.ids;
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid];
      if (v < id) lo = mid + 1;
      else if (v > id) hi = mid - 1;
      else return mid;
    }
    return -1;
  }

  /** Data bytes one ranged read of neurons [i0, i1) fetches. */
  rangeBytes(i0: number, i1: number): number {
    if (i1 <= i0) return 0;
    const { offsets, points } = this.neurons;
    return offsets[i1 - 1] + blockBytes(points[i1 - 1], this.bpv) - offsets[i0];
  }

  /** One neuron by id (one ranged read). */
  async read(id: number): Promise<Dotprops> {
    const i = this.indexOf(id);
    if (i < 0) throw new InputError(`no neuron with id ${id} in this cache`, { source: this.uri });
    return (await this.readRange(i, i + 1))[0];
  }

  /**
   * Neurons [i0, i1) in index (= id) order with one ranged read. The arrays are views on one
   * buffer: keeping any of them keeps the whole range in memory.
   */
  async readRange(i0: number, i1: number): Promise<Dotprops[]> {
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
    // Blocks are 8-aligned in the file; the bytes must be as aligned in memory for the views.
    if (bytes.byteOffset % this.bpv !== 0) bytes = bytes.slice();
    const out = new Array<Dotprops>(i1 - i0);
    for (let i = i0; i < i1; i++) {
      out[i - i0] = blockViews(bytes.buffer as ArrayBuffer, bytes.byteOffset + (offsets[i] - start), points[i], this.bpv);
    }
    return out;
  }

  /** Every neuron, fetched in chunks of up to 64 MiB, a few at a time. */
  async readAll(): Promise<Dotprops[]> {
    const chunks = this.chunks(CHUNK_BYTES);
    const parts = await mapLimit(chunks, CONCURRENT_CHUNKS, ([a, b]) => this.readRange(a, b));
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

export async function openCache(storage: Storage): Promise<CacheReader> {
  const fail = (what: string): InputError => new InputError(`not a usable dotprops cache: ${what}`, { source: storage.uri });
  const manifest = await readManifest(storage);
  const indexBytes = await getOrFail(storage, INDEX_KEY, fail);
  const expectIndex = manifest.files[INDEX_KEY].bytes;
  if (indexBytes.length !== expectIndex) {
    throw fail(`${INDEX_KEY} has ${indexBytes.length} bytes, ${MANIFEST_KEY} says ${expectIndex} (truncated or from another build)`);
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
  return new CacheReader(storage, manifest, cols);
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
  if (head.version !== FORMAT_VERSION) {
    throw fail(`cache format version ${JSON.stringify(head.version)}; this program reads version ${FORMAT_VERSION} (rebuild the cache)`);
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
 * in ranged chunks, so it works the same on S3.
 */
export async function verifyCache(storage: Storage): Promise<VerifyResult> {
  const reader = await openCache(storage);
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
    throw new InputError(
      `checksum mismatch: ${MANIFEST_KEY} says sha256 ${reader.checksum}, ${DATA_KEY} + ${INDEX_KEY} hash to ${sha256} (the cache was changed or damaged; rebuild it)`,
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
