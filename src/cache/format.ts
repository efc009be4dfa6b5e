/**
 * The dotprops cache format, version 2 (docs/cache-format.md is the full description).
 * A cache is a folder or prefix holding dotprops.bin (the points), index.bin (one
 * fixed-size record per neuron + names) and report.json, with cache.json written last.
 * Everything binary is little-endian and laid out so typed arrays can view it directly.
 *
 * Version 2 (over 1): ids are int64 (0 to 2^63 - 1) instead of float64, every record
 * carries its neuron's checksum (so each ranged read is verified), and cache.json records
 * index.bin's sha256 (checked on every open). Version 1 caches are refused with the command
 * that rebuilds them.
 */
import { compareIdAt, idWords, isIdAt } from "../ids/index.ts";
import type { DotpropsParams } from "../nblast/types.ts";

export const FORMAT_NAME = "nblast-fanout-dotprops-cache";
export const FORMAT_VERSION = 2;

export const MANIFEST_KEY = "cache.json";
export const INDEX_KEY = "index.bin";
export const DATA_KEY = "dotprops.bin";
export const REPORT_KEY = "report.json";

export const INDEX_MAGIC = "NBDPIDX\0";
export const DATA_MAGIC = "NBDPDAT\0";
export const INDEX_HEADER_BYTES = 128;
export const DATA_HEADER_BYTES = 16;
export const RECORD_BYTES = 80;
/** Per-neuron checksum: the first 16 bytes of the SHA-256 of the neuron's block (unpadded). */
export const CHECKSUM_BYTES = 16;
/** Index header code of the per-neuron checksum kind. */
export const CHECKSUM_SHA256_128 = 1;
export const CHECKSUM_NAME = "sha256-128";
/** Every neuron's block starts at a multiple of this, so Float64Array views need no copy. */
export const BLOCK_ALIGN = 8;

export type Precision = "float32" | "float64";

/** float64: a run's scores are then `score`'s, rounded once to float32 when stored. */
export const DEFAULT_PRECISION: Precision = "float64";

export function bytesPerValue(precision: Precision): 4 | 8 {
  return precision === "float32" ? 4 : 8;
}

export function precisionOf(bpv: number): Precision | undefined {
  return bpv === 4 ? "float32" : bpv === 8 ? "float64" : undefined;
}

/** Bytes of a neuron's values (points 3n, vect 3n, alpha n), without the alignment padding. */
export function blockBytes(n: number, bpv: number): number {
  return 7 * n * bpv;
}

export function padded(bytes: number): number {
  return Math.ceil(bytes / BLOCK_ALIGN) * BLOCK_ALIGN;
}

/** Byte offsets of the index header fields. */
export const H = {
  magic: 0,
  version: 8,
  recordBytes: 12,
  count: 16,
  bytesPerValue: 20,
  namesOffset: 24,
  namesBytes: 32,
  dataBytes: 40,
  totalPoints: 48,
  scale: 56,
  simplify: 64,
  resample: 72,
  k: 80,
  checksumKind: 84,
} as const;

/** Byte offsets of the fields of one index record. */
export const R = {
  id: 0,
  offset: 8,
  cable: 16,
  points: 24,
  bytes: 28,
  bboxMin: 32,
  bboxMax: 44,
  nameOffset: 56,
  nameBytes: 60,
  checksum: 64,
} as const;

/** The index as compact columns, one entry per neuron, sorted by id. */
export interface IndexColumns {
  /** 0 to 2^63 - 1, strictly ascending. */
  readonly ids: BigInt64Array;
  /** Byte offset of each neuron's block in dotprops.bin. */
  readonly offsets: Float64Array;
  readonly points: Uint32Array;
  /** Cable length in microns (after scaling, before resampling), as the loader measured it. */
  readonly cable: Float64Array;
  /** 6 per neuron: min xyz, max xyz, float32 rounded outward so the box holds every point. */
  readonly bbox: Float32Array;
  readonly names: string[];
  /** CHECKSUM_BYTES per neuron: the first 16 bytes of the SHA-256 of its block in dotprops.bin. */
  readonly checksums: Uint8Array;
}

export interface IndexHeader {
  readonly count: number;
  readonly bytesPerValue: number;
  readonly namesOffset: number;
  readonly namesBytes: number;
  readonly dataBytes: number;
  readonly totalPoints: number;
  readonly params: DotpropsParams;
}

/** Summary of a distribution, for cache.json and `cache info`. */
export interface Summary {
  min: number;
  median: number;
  mean: number;
  max: number;
}

export interface FailedNeuron {
  /** Decimal (ids pass 2^53, JSON numbers do not hold them). */
  id: string;
  name: string;
  path: string;
  /** The error's message (an InputError names file, line and field). */
  reason: string;
  /** "InputError" for bad input; anything else is a read failure or a bug worth reporting. */
  error: string;
}

/** A neuron that was cached but looks wrong (one node, identical points, nanometres), with the likely fix. */
export interface WarnedNeuron {
  id: string;
  name: string;
  path: string;
  warnings: string[];
}

/** A neuron of which --simplify dropped whole trees (fragments), or where nat's simplify stopped early. */
export interface SimplifiedNeuron {
  id: string;
  name: string;
  path: string;
  droppedTrees: number;
  stoppedEarly: string | null;
}

export interface Report {
  format: string;
  version: number;
  failed: FailedNeuron[];
  /** Absent in caches built before these were recorded. */
  warnings?: WarnedNeuron[];
  /** Files in the input folders or globs that were not taken as neurons (other CSVs, id lists), with why. */
  skipped?: { path: string; reason: string }[];
  simplified?: SimplifiedNeuron[];
}

/** What cache.json holds. Its presence is what makes a folder a cache: it is written last. */
export interface Manifest {
  format: string;
  version: number;
  params: { scale: number; simplify: number | null; resample: number | null; k: number };
  precision: Precision;
  neurons: number;
  totalPoints: number;
  /** sha256 (hex) of dotprops.bin's bytes followed by index.bin's bytes. */
  sha256: string;
  /** How each neuron's block is checked on every read (CHECKSUM_NAME). */
  checksums: typeof CHECKSUM_NAME;
  /** index.bin's own sha256 is checked on every open. */
  files: { [DATA_KEY]: { bytes: number }; [INDEX_KEY]: { bytes: number; sha256: string }; [REPORT_KEY]: { bytes: number } };
  stats: { points: Summary; cable: Summary };
  /** Neurons that could not be read (details in report.json); the first few for `cache info`. */
  failed: { count: number; first: { name: string; reason: string }[] };
  /** Neurons cached with warnings, and neurons that lost fragments through --simplify (all in report.json); absent in older caches. */
  warned?: { count: number; first: { name: string; warning: string }[] };
  simplified?: { count: number; first: { name: string; droppedTrees: number; stoppedEarly: string | null }[] };
}

export function paramsToJson(p: DotpropsParams): Manifest["params"] {
  return { scale: p.scale, simplify: p.simplify ?? null, resample: p.resample ?? null, k: p.k };
}

export function paramsFromJson(p: Manifest["params"]): DotpropsParams {
  return { scale: p.scale, simplify: p.simplify ?? undefined, resample: p.resample ?? undefined, k: p.k };
}

/** Exact equality of every field (undefined and 0 resample are different on purpose: they are stored apart). */
export function paramsEqual(a: DotpropsParams, b: DotpropsParams): boolean {
  return (
    Object.is(a.scale, b.scale) &&
    Object.is(a.simplify, b.simplify) &&
    Object.is(a.resample, b.resample) &&
    Object.is(a.k, b.k)
  );
}

export function formatParams(p: DotpropsParams): string {
  return `scale=${p.scale} simplify=${p.simplify ?? "none"} resample=${p.resample ?? "none"} k=${p.k}`;
}

const NONE = Number.NaN;

export function encodeIndex(cols: IndexColumns, namesUtf8: Uint8Array, nameOffsets: Uint32Array, nameLengths: Uint32Array,
  header: Omit<IndexHeader, "count" | "namesOffset" | "namesBytes">): Uint8Array {
  const count = cols.ids.length;
  const namesOffset = INDEX_HEADER_BYTES + count * RECORD_BYTES;
  const out = new Uint8Array(namesOffset + namesUtf8.length);
  const v = new DataView(out.buffer);
  writeAscii(out, H.magic, INDEX_MAGIC);
  v.setUint32(H.version, FORMAT_VERSION, true);
  v.setUint32(H.recordBytes, RECORD_BYTES, true);
  v.setUint32(H.count, count, true);
  v.setUint32(H.bytesPerValue, header.bytesPerValue, true);
  v.setFloat64(H.namesOffset, namesOffset, true);
  v.setFloat64(H.namesBytes, namesUtf8.length, true);
  v.setFloat64(H.dataBytes, header.dataBytes, true);
  v.setFloat64(H.totalPoints, header.totalPoints, true);
  v.setFloat64(H.scale, header.params.scale, true);
  v.setFloat64(H.simplify, header.params.simplify ?? NONE, true);
  v.setFloat64(H.resample, header.params.resample ?? NONE, true);
  v.setUint32(H.k, header.params.k, true);
  v.setUint32(H.checksumKind, CHECKSUM_SHA256_128, true);
  const bpv = header.bytesPerValue;
  const idw = idWords(cols.ids);
  for (let i = 0; i < count; i++) {
    const r = INDEX_HEADER_BYTES + i * RECORD_BYTES;
    v.setUint32(r + R.id, idw[2 * i], true);
    v.setUint32(r + R.id + 4, idw[2 * i + 1], true);
    v.setFloat64(r + R.offset, cols.offsets[i], true);
    v.setFloat64(r + R.cable, cols.cable[i], true);
    v.setUint32(r + R.points, cols.points[i], true);
    v.setUint32(r + R.bytes, blockBytes(cols.points[i], bpv), true);
    for (let j = 0; j < 3; j++) {
      v.setFloat32(r + R.bboxMin + 4 * j, cols.bbox[6 * i + j], true);
      v.setFloat32(r + R.bboxMax + 4 * j, cols.bbox[6 * i + 3 + j], true);
    }
    v.setUint32(r + R.nameOffset, nameOffsets[i], true);
    v.setUint32(r + R.nameBytes, nameLengths[i], true);
    out.set(cols.checksums.subarray(CHECKSUM_BYTES * i, CHECKSUM_BYTES * (i + 1)), r + R.checksum);
  }
  out.set(namesUtf8, namesOffset);
  return out;
}

/** Parses index.bin; `fail(what)` builds the error to throw (it names the cache). */
export function decodeIndex(bytes: Uint8Array, fail: (what: string) => Error): { header: IndexHeader; cols: IndexColumns } {
  if (bytes.length < INDEX_HEADER_BYTES) throw fail(`${INDEX_KEY} is truncated (${bytes.length} bytes, header needs ${INDEX_HEADER_BYTES})`);
  if (readAscii(bytes, H.magic, 8) !== INDEX_MAGIC) throw fail(`${INDEX_KEY} is not a dotprops cache index (bad magic)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint32(H.version, true);
  if (version !== FORMAT_VERSION) throw fail(`${INDEX_KEY} has format version ${version}, this program reads version ${FORMAT_VERSION}`);
  const checksumKind = v.getUint32(H.checksumKind, true);
  if (checksumKind !== CHECKSUM_SHA256_128) throw fail(`${INDEX_KEY} has checksum kind ${checksumKind}, expected ${CHECKSUM_SHA256_128} (${CHECKSUM_NAME})`);
  const recordBytes = v.getUint32(H.recordBytes, true);
  if (recordBytes !== RECORD_BYTES) throw fail(`${INDEX_KEY} has ${recordBytes}-byte records, expected ${RECORD_BYTES}`);
  const count = v.getUint32(H.count, true);
  const bpv = v.getUint32(H.bytesPerValue, true);
  if (precisionOf(bpv) === undefined) throw fail(`${INDEX_KEY} has ${bpv} bytes per value (expected 4 or 8)`);
  const namesOffset = v.getFloat64(H.namesOffset, true);
  const namesBytes = v.getFloat64(H.namesBytes, true);
  if (namesOffset !== INDEX_HEADER_BYTES + count * RECORD_BYTES || namesOffset + namesBytes !== bytes.length) {
    throw fail(`${INDEX_KEY} is truncated or inconsistent (${bytes.length} bytes, header says ${namesOffset + namesBytes})`);
  }
  const optional = (x: number): number | undefined => (Number.isNaN(x) ? undefined : x);
  const header: IndexHeader = {
    count,
    bytesPerValue: bpv,
    namesOffset,
    namesBytes,
    dataBytes: v.getFloat64(H.dataBytes, true),
    totalPoints: v.getFloat64(H.totalPoints, true),
    params: {
      scale: v.getFloat64(H.scale, true),
      simplify: optional(v.getFloat64(H.simplify, true)),
      resample: optional(v.getFloat64(H.resample, true)),
      k: v.getUint32(H.k, true),
    },
  };
  const ids = new BigInt64Array(count);
  const idw = idWords(ids);
  const checksums = new Uint8Array(CHECKSUM_BYTES * count);
  const offsets = new Float64Array(count);
  const points = new Uint32Array(count);
  const cable = new Float64Array(count);
  const bbox = new Float32Array(6 * count);
  const names = new Array<string>(count);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let expectedOffset = DATA_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const r = INDEX_HEADER_BYTES + i * RECORD_BYTES;
    idw[2 * i] = v.getUint32(r + R.id, true);
    idw[2 * i + 1] = v.getUint32(r + R.id + 4, true);
    checksums.set(bytes.subarray(r + R.checksum, r + R.checksum + CHECKSUM_BYTES), CHECKSUM_BYTES * i);
    offsets[i] = v.getFloat64(r + R.offset, true);
    cable[i] = v.getFloat64(r + R.cable, true);
    points[i] = v.getUint32(r + R.points, true);
    for (let j = 0; j < 3; j++) {
      bbox[6 * i + j] = v.getFloat32(r + R.bboxMin + 4 * j, true);
      bbox[6 * i + 3 + j] = v.getFloat32(r + R.bboxMax + 4 * j, true);
    }
    const nameOffset = v.getUint32(r + R.nameOffset, true);
    const nameBytes = v.getUint32(r + R.nameBytes, true);
    // Blocks are contiguous in id order: anything else is a damaged index.
    if (!isIdAt(idw, i)) throw fail(`${INDEX_KEY} record ${i}: negative id`);
    if (i > 0 && compareIdAt(idw, i, idw, i - 1) <= 0) throw fail(`${INDEX_KEY} record ${i}: ids not strictly increasing`);
    if (offsets[i] !== expectedOffset || v.getUint32(r + R.bytes, true) !== blockBytes(points[i], bpv)) {
      throw fail(`${INDEX_KEY} record ${i}: offset or length inconsistent with the previous records`);
    }
    if (nameOffset + nameBytes > namesBytes) throw fail(`${INDEX_KEY} record ${i}: name outside the names block`);
    names[i] = decoder.decode(bytes.subarray(namesOffset + nameOffset, namesOffset + nameOffset + nameBytes));
    expectedOffset += padded(blockBytes(points[i], bpv));
  }
  if (expectedOffset !== header.dataBytes) throw fail(`${INDEX_KEY}: records cover ${expectedOffset} bytes of data, header says ${header.dataBytes}`);
  return { header, cols: { ids, offsets, points, cable, bbox, names, checksums } };
}

export function encodeDataHeader(bpv: number): Uint8Array {
  const out = new Uint8Array(DATA_HEADER_BYTES);
  writeAscii(out, 0, DATA_MAGIC);
  const v = new DataView(out.buffer);
  v.setUint32(8, FORMAT_VERSION, true);
  v.setUint32(12, bpv, true);
  return out;
}

/** Checks the 16-byte header of dotprops.bin. */
export function checkDataHeader(bytes: Uint8Array, bpv: number, fail: (what: string) => Error): void {
  if (bytes.length < DATA_HEADER_BYTES) throw fail(`${DATA_KEY} is truncated (no header)`);
  if (readAscii(bytes, 0, 8) !== DATA_MAGIC) throw fail(`${DATA_KEY} is not dotprops cache data (bad magic)`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, DATA_HEADER_BYTES);
  const version = v.getUint32(8, true);
  if (version !== FORMAT_VERSION) throw fail(`${DATA_KEY} has format version ${version}, this program reads version ${FORMAT_VERSION}`);
  if (v.getUint32(12, true) !== bpv) throw fail(`${DATA_KEY} precision differs from ${INDEX_KEY}`);
}

function writeAscii(out: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
}

function readAscii(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}

export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) return { min: 0, median: 0, mean: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { min: sorted[0], median, mean: sum / n, max: sorted[n - 1] };
}
