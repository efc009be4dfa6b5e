/**
 * Rows of nblast_similarity_score in Postgres' binary COPY format, encoded straight from
 * typed arrays: no object, string or BigInt per row.
 *
 * COPY ... FROM STDIN (FORMAT binary) expects a 19-byte header ("PGCOPY\n\377\r\n\0",
 * 32-bit flags, 32-bit extension length), then per row a 16-bit field count and per field
 * a 32-bit length and the value, all big-endian, and a 16-bit -1 trailer. Our rows are
 * (query_object_id int8, target_object_id int8, score float4, similarity_id int4), the
 * column order of the COPY statement in load-bin.ts: 2 + (4+8) + (4+8) + (4+4) + (4+4) =
 * 42 bytes a row.
 *
 * The int64 ids are read as two 32-bit words through a Uint32Array view of the
 * BigInt64Array (little-endian hosts: low word first) and written high word first; the
 * float32 score's bits are written as they are, so the server stores exactly the shard's
 * float32 (NaN payloads and -0 included) and ids beyond 2^53 are exact.
 *
 * CATMAID's storage rule (only scores above 0.01, no self pairs) is applied here, while
 * encoding, and counted, so that a CATMAID load never materialises a filtered copy.
 */
import { HOST_LITTLE_ENDIAN } from "./ids.ts";

export const ROW_BYTES = 42;
/** Signature, flags (no OIDs), header extension length 0. */
export const COPY_HEADER: Uint8Array = Uint8Array.of(
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
);
/** A 16-bit field count of -1 ends the data. */
export const COPY_TRAILER: Uint8Array = Uint8Array.of(0xff, 0xff);
/** The column list the encoder's field order matches. */
export const COPY_COLUMNS = "(query_object_id, target_object_id, score, similarity_id)";

/** One stretch of rows as typed arrays (the shard's columns; ids as int64). */
export interface ScoreColumns {
  readonly queryId: BigInt64Array;
  readonly targetId: BigInt64Array;
  readonly score: Float32Array;
  readonly length: number;
}

/** Which rows to leave out (CATMAID's rule: `{ dropSelf: true, minScore: 0.01 }`). */
export interface RowFilter {
  /** Drop rows whose query and target are the same object. */
  readonly dropSelf: boolean;
  /** Keep only rows whose float32 score is strictly greater than this (as a double). */
  readonly minScore: number | undefined;
}

export const KEEP_EVERY_ROW: RowFilter = { dropSelf: false, minScore: undefined };
/** CATMAID stores `similarity > 0.01` and no self match (similarity.py, compute_nblast). */
export const CATMAID_RULE: RowFilter = { dropSelf: true, minScore: 0.01 };

export interface EncodeCounts {
  /** Rows encoded. */
  rows: number;
  droppedSelf: number;
  /** Rows at or below minScore. */
  droppedLow: number;
}

/** Default rows per chunk (one CopyData message): 2^17 rows = 5.25 MiB; larger chunks measured faster (bench/db-load.bench.ts). */
export const CHUNK_ROWS = 131_072;

/**
 * Encodes rows into CopyData-sized chunks for one similarity id. `counts` accumulates over
 * every call, so one encoder serves a whole bin (row group after row group).
 */
export class CopyEncoder {
  readonly counts: EncodeCounts = { rows: 0, droppedSelf: 0, droppedLow: 0 };
  private readonly similarityId: number;
  private readonly filter: RowFilter;
  private readonly chunkRows: number;

  constructor(similarityId: number, filter: RowFilter = KEEP_EVERY_ROW, chunkRows = CHUNK_ROWS) {
    if (!Number.isInteger(similarityId) || similarityId < -(2 ** 31) || similarityId >= 2 ** 31) {
      throw new RangeError(`similarity id ${similarityId} is not a 32-bit integer`);
    }
    if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer`);
    if (!HOST_LITTLE_ENDIAN) throw new Error("the binary COPY encoder needs a little-endian host");
    this.similarityId = similarityId;
    this.filter = filter;
    this.chunkRows = chunkRows;
  }

  /** Rows [start, end) of `cols` as chunks of at most chunkRows rows each (filtered rows leave them shorter). */
  *chunks(cols: ScoreColumns, start = 0, end = cols.length): Generator<Uint8Array> {
    for (let at = start; at < end; at += this.chunkRows) {
      const chunk = this.encode(cols, at, Math.min(end, at + this.chunkRows));
      if (chunk.length > 0) yield chunk;
    }
  }

  /** Rows [start, end) as one buffer. */
  encode(cols: ScoreColumns, start: number, end: number): Uint8Array {
    if (cols.queryId.length < end || cols.targetId.length < end || cols.score.length < end) {
      throw new RangeError(`rows ${start}..${end} run past the columns`);
    }
    const q = new Uint32Array(cols.queryId.buffer, cols.queryId.byteOffset, cols.queryId.length * 2);
    const t = new Uint32Array(cols.targetId.buffer, cols.targetId.byteOffset, cols.targetId.length * 2);
    const s = new Uint32Array(cols.score.buffer, cols.score.byteOffset, cols.score.length);
    const scores = cols.score;
    const out = new Uint8Array(new ArrayBuffer((end - start) * ROW_BYTES));
    const dv = new DataView(out.buffer);
    const sim = this.similarityId;
    const dropSelf = this.filter.dropSelf;
    const min = this.filter.minScore;
    const hasMin = min !== undefined;
    let o = 0;
    let droppedSelf = 0;
    let droppedLow = 0;
    for (let i = start; i < end; i++) {
      const qlo = q[2 * i], qhi = q[2 * i + 1];
      const tlo = t[2 * i], thi = t[2 * i + 1];
      if (dropSelf && qlo === tlo && qhi === thi) {
        droppedSelf++;
        continue;
      }
      // `!(x > min)` so that a NaN score (never in a valid shard) would be dropped, not kept
      if (hasMin && !(scores[i] > min)) {
        droppedLow++;
        continue;
      }
      dv.setInt16(o, 4);
      dv.setInt32(o + 2, 8);
      dv.setUint32(o + 6, qhi);
      dv.setUint32(o + 10, qlo);
      dv.setInt32(o + 14, 8);
      dv.setUint32(o + 18, thi);
      dv.setUint32(o + 22, tlo);
      dv.setInt32(o + 26, 4);
      dv.setUint32(o + 30, s[i]);
      dv.setInt32(o + 34, 4);
      dv.setInt32(o + 38, sim);
      o += ROW_BYTES;
    }
    this.counts.rows += o / ROW_BYTES;
    this.counts.droppedSelf += droppedSelf;
    this.counts.droppedLow += droppedLow;
    return o === out.length ? out : out.subarray(0, o);
  }
}
