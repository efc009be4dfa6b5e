/**
 * Score shards: the Parquet file one bin worker writes (shards/bin=<bin>.parquet).
 *
 * Columns (all REQUIRED, i.e. no nulls):
 *   query_id   INT64   DELTA_BINARY_PACKED  skeleton/neuron id of the query
 *   target_id  INT64   DELTA_BINARY_PACKED  id of the target
 *   score      FLOAT   BYTE_STREAM_SPLIT    the score the run asked for (float32)
 *   forward    FLOAT   BYTE_STREAM_SPLIT    optional: normalised query->target score
 *   reverse    FLOAT   BYTE_STREAM_SPLIT    optional: normalised target->query score
 * forward and reverse are both present or both absent (the manifest decides).
 *
 * Rows are sorted by (query_id, target_id), each pair at most once, so that a rerun of a
 * bin writes the same bytes and readers can merge shards and skip row groups by their
 * query_id min/max statistics. Pages are SNAPPY-compressed. query_id, target_id and score
 * chunks carry min/max statistics; forward/reverse do not (nothing filters on them, and
 * statistics are a noticeable part of encoding time). Key-value metadata:
 * "nblast-fanout.format" = "scores/1" plus whatever the writer passes, sorted by key.
 * created_by is "nblast-fanout" without a version, so the bytes depend on rows and
 * metadata alone.
 *
 * Encodings: sorted ids delta-pack to a small fraction of a byte per value. Scores have
 * near-random mantissas; byte-stream-split + snappy stores them ~10% smaller than plain
 * (measured with forward/reverse: 10.9 vs 12.0 bytes per row) for ~1.5x the encoding
 * time, which is still far above the rate NBLAST produces pairs.
 *
 * Row groups hold 2^18 = 262,144 rows (ROW_GROUP_ROWS): ~1 MB (score only) to ~3 MB
 * (with forward/reverse) on disk and ~7 MB decoded. Big enough that the one or two
 * coalesced ranged reads hyparquet makes per group amortise S3 latency, small enough that `top`
 * and `export` can hold one group per open shard, and fine-grained enough that a
 * neuron's rows as query (a contiguous query_id range) sit in one or two groups that
 * the statistics point to.
 *
 * Scores are float32: the in-memory Float32Array store is Math.fround of the computed
 * double, which is also what the storage policy compares (see policy.ts). Non-finite
 * scores are refused. Ids are int64 from 0 to 2^63 - 1 (negative ones are refused on read),
 * held in BigInt64Array end to end: no id passes through a double.
 */
import { createHash } from "node:crypto";
import { parquetMetadataAsync, parquetRead, type FileMetaData, type SchemaElement } from "hyparquet";
import { ByteWriter, ParquetWriter, type ColumnSource, type Writer } from "hyparquet-writer";
import { compareIdAt, formatIdAt, idWords, isIdAt } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import { allocRows, hasComponents, sortRows, validateRows, type ScoreRows } from "./rows.ts";
import { toAsyncBuffer, type AsyncBuffer, type ShardSource } from "./source.ts";

export const ROW_GROUP_ROWS = 262_144;
export const FORMAT_KEY = "nblast-fanout.format";
export const FORMAT_VERSION = "scores/1";
const CREATED_BY = "nblast-fanout";
/** Footer bytes fetched first; hyparquet fetches the rest when a footer is larger. */
const FOOTER_FETCH = 64 * 1024;

const CORE_COLUMNS = ["query_id", "target_id", "score"] as const;
const ALL_COLUMNS = ["query_id", "target_id", "score", "forward", "reverse"] as const;
type ColumnName = (typeof ALL_COLUMNS)[number];
const PHYSICAL: Record<ColumnName, "INT64" | "FLOAT"> = {
  query_id: "INT64", target_id: "INT64", score: "FLOAT", forward: "FLOAT", reverse: "FLOAT",
};

/** Storage key of a bin's shard. */
export function shardKey(bin: number | string): string {
  return `shards/bin=${bin}.parquet`;
}

/** sha256 of the shard bytes, lowercase hex (recorded in done markers). */
export function shardChecksum(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface EncodeOptions {
  /** Rows per row group (default ROW_GROUP_ROWS). */
  rowGroupRows?: number;
  /** Extra key-value metadata (bin, run id, ...); keep it deterministic. */
  metadata?: Record<string, string>;
}

/**
 * A whole shard file in memory. Sorts the rows when needed; throws RangeError on
 * duplicate pairs, unsafe ids or non-finite scores.
 */
export function encodeShard(rows: ScoreRows, opts: EncodeOptions = {}): Uint8Array {
  validateRows(rows);
  const writer = new ByteWriter(Math.max(1024, rows.length * 12));
  const sink = new ShardWriter(writer, hasComponents(rows), opts);
  sink.write(sortRows(rows));
  sink.finish();
  return new Uint8Array(writer.getBuffer());
}

/**
 * Streams sorted rows into one Parquet file in shard format through any hyparquet-writer
 * Writer (a ByteWriter in memory, a fileWriter on disk). The caller guarantees order
 * across write() calls; each call must hold whole row groups except the last.
 */
export class ShardWriter {
  private readonly pq: ParquetWriter;
  private readonly components: boolean;
  private readonly groupRows: number;

  constructor(writer: Writer, components: boolean, opts: EncodeOptions = {}) {
    const groupRows = opts.rowGroupRows ?? ROW_GROUP_ROWS;
    if (!Number.isSafeInteger(groupRows) || groupRows < 1) {
      throw new RangeError(`rowGroupRows must be a positive integer, got ${groupRows}`);
    }
    this.components = components;
    this.groupRows = groupRows;
    const extra = opts.metadata ?? {};
    const keys = Object.keys(extra).filter((k) => k !== FORMAT_KEY).sort();
    this.pq = new ParquetWriter({
      writer,
      schema: shardSchema(components),
      codec: "SNAPPY",
      createdBy: CREATED_BY,
      kvMetadata: [{ key: FORMAT_KEY, value: FORMAT_VERSION }, ...keys.map((key) => ({ key, value: extra[key] }))],
    });
  }

  get rowGroupRows(): number {
    return this.groupRows;
  }

  write(rows: ScoreRows): void {
    if (rows.length === 0) return;
    if (hasComponents(rows) !== this.components) {
      throw new RangeError(`shard writer: rows ${this.components ? "lack" : "have"} forward/reverse columns`);
    }
    const done = this.pq.write({ columnData: columnSources(rows, this.components), rowGroupSize: this.groupRows });
    if (done) throw new Error("shard writer: asynchronous writers are not supported");
  }

  finish(): void {
    const done = this.pq.finish();
    if (done) throw new Error("shard writer: asynchronous writers are not supported");
  }
}

function shardSchema(components: boolean): SchemaElement[] {
  const names = components ? ALL_COLUMNS : CORE_COLUMNS;
  return [
    { name: "root", num_children: names.length },
    ...names.map((name): SchemaElement => ({ name, type: PHYSICAL[name], repetition_type: "REQUIRED" })),
  ];
}

function columnSources(rows: ScoreRows, components: boolean): ColumnSource[] {
  const cols: ColumnSource[] = [
    { name: "query_id", data: rows.queryId, encoding: "DELTA_BINARY_PACKED" },
    { name: "target_id", data: rows.targetId, encoding: "DELTA_BINARY_PACKED" },
    { name: "score", data: rows.score, encoding: "BYTE_STREAM_SPLIT" },
  ];
  if (components) {
    cols.push({ name: "forward", data: rows.forward!, encoding: "BYTE_STREAM_SPLIT", statistics: false });
    cols.push({ name: "reverse", data: rows.reverse!, encoding: "BYTE_STREAM_SPLIT", statistics: false });
  }
  return cols;
}

// ---------------------------------------------------------------------------------------
// Reading

export interface RowGroupInfo {
  index: number;
  /** Index of the group's first row in the file. */
  rowStart: number;
  numRows: number;
  /** From column statistics; undefined when the writer left them out. */
  minQuery: bigint | undefined;
  maxQuery: bigint | undefined;
  minTarget: bigint | undefined;
  maxTarget: bigint | undefined;
}

export interface ShardInfo {
  numRows: number;
  /** forward and reverse columns present */
  components: boolean;
  rowGroups: RowGroupInfo[];
  /** Key-value metadata of the file. */
  metadata: Record<string, string>;
}

/** A shard whose footer has been read: reuse it to read several row groups. */
export interface OpenShard {
  readonly file: AsyncBuffer;
  readonly parquet: FileMetaData;
  readonly info: ShardInfo;
  /** Name used in error messages (a storage key or path). */
  readonly source: string;
}

/** Reads and checks the footer. Throws InputError when the file is not a score shard. */
export async function openShard(src: ShardSource, source = "shard"): Promise<OpenShard> {
  const file = toAsyncBuffer(src);
  if (file.byteLength < 12) {
    throw new InputError(`not a Parquet file (${file.byteLength} bytes)`, { source });
  }
  let parquet: FileMetaData;
  try {
    parquet = await parquetMetadataAsync(file, { initialFetchSize: FOOTER_FETCH });
  } catch (e) {
    throw asInputError(e, source);
  }
  const columnIndex = checkSchema(parquet, source);
  const components = columnIndex.has("forward");
  const rowGroups: RowGroupInfo[] = [];
  let rowStart = 0;
  parquet.row_groups.forEach((rg, index) => {
    const numRows = Number(rg.num_rows);
    const stat = (name: ColumnName, which: "min" | "max"): bigint | undefined => {
      const st = rg.columns[columnIndex.get(name)!]?.meta_data?.statistics;
      const v = which === "min" ? (st?.min_value ?? st?.min) : (st?.max_value ?? st?.max);
      // INT64 statistics decode to bigint; anything else is not a usable bound (the group is then read)
      return typeof v === "bigint" ? v : undefined;
    };
    rowGroups.push({
      index, rowStart, numRows,
      minQuery: stat("query_id", "min"), maxQuery: stat("query_id", "max"),
      minTarget: stat("target_id", "min"), maxTarget: stat("target_id", "max"),
    });
    rowStart += numRows;
  });
  const metadata: Record<string, string> = {};
  for (const { key, value } of parquet.key_value_metadata ?? []) metadata[key] = value ?? "";
  return { file, parquet, info: { numRows: rowStart, components, rowGroups, metadata }, source };
}

/** Column name -> position in each row group's column list. */
function checkSchema(parquet: FileMetaData, source: string): Map<ColumnName, number> {
  const found = new Map<ColumnName, number>();
  const leaves = parquet.schema.slice(1);
  leaves.forEach((el, i) => {
    const name = el.name as ColumnName;
    if (!(name in PHYSICAL)) return; // extra columns are ignored
    if (el.num_children || el.type !== PHYSICAL[name] || el.repetition_type === "REPEATED") {
      throw new InputError(`column ${name} must be a ${PHYSICAL[name]}, got ${el.type ?? "a group"}`, { source });
    }
    found.set(name, i);
  });
  if (leaves.some((el) => el.num_children)) {
    throw new InputError("nested columns are not part of the score shard format", { source });
  }
  for (const name of CORE_COLUMNS) {
    if (!found.has(name)) throw new InputError(`not a score shard: no ${name} column`, { source });
  }
  if (found.has("forward") !== found.has("reverse")) {
    throw new InputError("forward and reverse columns must be both present or both absent", { source });
  }
  return found;
}

function asInputError(e: unknown, source: string): unknown {
  // hyparquet's own messages start with "parquet", and a DataView read past the end of a
  // buffer is a RangeError: both mean a malformed file, not an I/O failure
  if (e instanceof RangeError || (e instanceof Error && /^parquet/i.test(e.message))) {
    return new InputError(`not a readable Parquet file (${e.message})`, { source });
  }
  return e;
}

export interface ReadOptions {
  /** Also read forward/reverse when the shard has them (default true). */
  components?: boolean;
}

/**
 * One row group as ScoreRows. Checks what the format promises (safe integer ids, sorted
 * unique pairs, finite scores) and throws InputError naming the shard otherwise.
 */
export async function readRowGroup(shard: OpenShard, group: RowGroupInfo, opts: ReadOptions = {}): Promise<ScoreRows> {
  const components = (opts.components ?? true) && shard.info.components;
  const n = group.numRows;
  const rows = allocRows(n, components);
  const dest: Partial<Record<ColumnName, BigInt64Array | Float32Array>> = {
    query_id: rows.queryId, target_id: rows.targetId, score: rows.score,
  };
  if (components) {
    dest.forward = rows.forward;
    dest.reverse = rows.reverse;
  }
  const filled: Partial<Record<ColumnName, number>> = {};
  let bad: string | undefined;
  try {
    await parquetRead({
      file: shard.file,
      metadata: shard.parquet,
      columns: [...(components ? ALL_COLUMNS : CORE_COLUMNS)],
      rowStart: group.rowStart,
      rowEnd: group.rowStart + n,
      onChunk({ columnName, columnData, rowStart }) {
        const name = columnName as ColumnName;
        const out = dest[name];
        if (!out) return;
        // chunks may reach outside the requested range: clip to this group
        const from = Math.max(0, group.rowStart - rowStart);
        const to = Math.min(columnData.length, group.rowStart + n - rowStart);
        if (to <= from) return;
        const at = rowStart + from - group.rowStart;
        const err = copyColumn(columnData, from, to, out, at);
        if (err !== undefined) bad ??= `column ${name}, row ${group.rowStart + at + err.offset}: ${err.what}`;
        filled[name] = (filled[name] ?? 0) + (to - from);
      },
    });
  } catch (e) {
    throw asInputError(e, shard.source);
  }
  if (bad !== undefined) throw new InputError(bad, { source: shard.source });
  for (const name of Object.keys(dest) as ColumnName[]) {
    if (filled[name] !== n) {
      throw new InputError(`row group ${group.index}: column ${name} has ${filled[name] ?? 0} of ${n} values`, {
        source: shard.source,
      });
    }
  }
  checkGroup(rows, group, shard.source);
  return rows;
}

/** Copies values [from, to) of a decoded chunk to out[at...]; reports the first unusable value. */
function copyColumn(
  data: ArrayLike<unknown>, from: number, to: number, out: BigInt64Array | Float32Array, at: number,
): { offset: number; what: string } | undefined {
  if (out instanceof Float32Array && data instanceof Float32Array) {
    out.set(data.subarray(from, to), at);
    return undefined;
  }
  if (out instanceof BigInt64Array && data instanceof BigInt64Array) {
    // INT64 pages decode to BigInt64Array: a plain copy, then a sign check on the words
    out.set(data.subarray(from, to), at);
    const w = idWords(out);
    for (let i = at; i < at + to - from; i++) {
      if (!isIdAt(w, i)) return { offset: i - at, what: `id ${formatIdAt(w, i)} is negative (ids are 0 to 2^63 - 1)` };
    }
    return undefined;
  }
  for (let i = from; i < to; i++) {
    const v = data[i];
    if (v === null || v === undefined) return { offset: i - from, what: "null value" };
    if (out instanceof BigInt64Array) {
      if (typeof v === "bigint" && v < 0n) return { offset: i - from, what: `id ${v} is negative (ids are 0 to 2^63 - 1)` };
      if (typeof v !== "bigint" || v >= 1n << 63n) return { offset: i - from, what: `id ${String(v)} is not an int64 from 0 to 2^63 - 1` };
      out[at + i - from] = v;
    } else {
      out[at + i - from] = Number(v);
    }
  }
  return undefined;
}

function checkGroup(rows: ScoreRows, group: RowGroupInfo, source: string): void {
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  for (let i = 1; i < rows.length; i++) {
    const c = compareIdAt(q, i, q, i - 1);
    if (c < 0 || (c === 0 && compareIdAt(t, i, t, i - 1) <= 0)) {
      throw new InputError(
        `row ${group.rowStart + i}: pair (${formatIdAt(q, i)}, ${formatIdAt(t, i)}) is not after (${formatIdAt(q, i - 1)}, ${formatIdAt(t, i - 1)}); shards are sorted by (query_id, target_id) without duplicates`,
        { source },
      );
    }
  }
  for (const col of [rows.score, rows.forward, rows.reverse]) {
    if (!col) continue;
    for (let i = 0; i < col.length; i++) {
      if (col[i] - col[i] !== 0) {
        throw new InputError(`row ${group.rowStart + i}: score ${col[i]} is not finite`, { source });
      }
    }
  }
}

export interface StreamOptions extends ReadOptions {
  /** Return true to skip a row group unread (decided from its statistics). */
  skip?: (group: RowGroupInfo) => boolean;
  /** Name for error messages when `src` is not an OpenShard. */
  source?: string;
}

/**
 * Calls onRows once per row group, in file order, holding one decoded group at a time
 * (the next is read only after onRows' promise settles).
 */
export async function readShardRowGroups(
  src: ShardSource | OpenShard,
  onRows: (rows: ScoreRows, group: RowGroupInfo) => void | Promise<void>,
  opts: StreamOptions = {},
): Promise<ShardInfo> {
  const shard = isOpenShard(src) ? src : await openShard(src, opts.source);
  let lastQ = -1n; // below every id
  let lastT = -1n;
  for (const group of shard.info.rowGroups) {
    if (group.numRows === 0 || opts.skip?.(group)) continue;
    const rows = await readRowGroup(shard, group, opts);
    // one pair of bigints per group, not per row
    const q0 = rows.queryId[0], t0 = rows.targetId[0];
    if (q0 < lastQ || (q0 === lastQ && t0 <= lastT)) {
      throw new InputError(`row group ${group.index} starts at (${q0}, ${t0}), not after the previous group's last pair`, {
        source: shard.source,
      });
    }
    lastQ = rows.queryId[rows.length - 1];
    lastT = rows.targetId[rows.length - 1];
    await onRows(rows, group);
  }
  return shard.info;
}

/** The whole shard in memory. */
export async function decodeShard(src: ShardSource | OpenShard, opts: StreamOptions = {}): Promise<ScoreRows> {
  const shard = isOpenShard(src) ? src : await openShard(src, opts.source);
  const rows = allocRows(shard.info.numRows, (opts.components ?? true) && shard.info.components);
  let at = 0;
  await readShardRowGroups(shard, (group) => {
    rows.queryId.set(group.queryId, at);
    rows.targetId.set(group.targetId, at);
    rows.score.set(group.score, at);
    if (rows.forward && rows.reverse) {
      rows.forward.set(group.forward!, at);
      rows.reverse.set(group.reverse!, at);
    }
    at += group.length;
  }, { ...opts, skip: undefined });
  return rows;
}

function isOpenShard(src: ShardSource | OpenShard): src is OpenShard {
  return !(src instanceof Uint8Array) && "parquet" in src && "info" in src;
}
