/**
 * `export`: every shard of a run merged into one local file sorted by
 * (query_id, target_id), as CSV or as one Parquet file in the shard format (so it reads
 * back with decodeShard). Streamed: one row group per open shard (see merge.ts) plus one
 * output row group for Parquet; the file appears atomically (temp + fsync + rename).
 *
 * CSV: header `query_id,target_id,score[,forward,reverse]`, ids as integers, scores as the
 * shortest decimal that reads back to the stored float32 (float32-text.ts), "\n" line ends.
 */
import { resolve } from "node:path";
import { ByteWriter } from "hyparquet-writer";
import { formatIdAt, idWords, sameIdAt } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import { writeStreamAtomic } from "../storage/atomic-file.ts";
import type { Storage } from "../storage/types.ts";
import { formatFloat32 } from "./float32-text.ts";
import { capPerQuery } from "./cap-per-query.ts";
import { mergeShards, planMerge, type MergePlan } from "./merge.ts";
import { RowsBuilder, type ScoreRows } from "./rows.ts";
import { ShardWriter } from "./shard.ts";

export type ExportFormat = "csv" | "parquet";

export interface ExportSummary {
  path: string;
  format: ExportFormat;
  rows: number;
  shards: number;
  components: boolean;
}

export interface ExportOptions {
  /** Rows per row group of a Parquet export (default ROW_GROUP_ROWS). */
  rowGroupRows?: number;
  /** The run's --top-n: at most this many rows per query in the merged result. */
  topN?: number;
  /** Only these shard keys (a run's verified done shards); default every shards/bin=*.parquet. */
  shards?: readonly string[];
}

export async function exportMerged(
  storage: Storage, format: ExportFormat, out: string, opts: ExportOptions = {},
): Promise<ExportSummary> {
  if (format !== "csv" && format !== "parquet") {
    throw new InputError(`export format must be csv or parquet, got ${JSON.stringify(format)}`);
  }
  const plan = await planMerge(storage, undefined, opts.shards);
  const toStdout = out === "-";
  const path = toStdout ? "-" : resolve(out);
  const all = mergeShards(storage, plan);
  const merged = opts.topN === undefined ? all : capPerQuery(all, opts.topN, plan.components);
  const chunks = format === "csv" ? csvChunks(merged, plan.components) : parquetChunks(merged, plan, opts);
  let rows = 0;
  async function* counted(): AsyncGenerator<Uint8Array | string> {
    for await (const chunk of chunks) {
      rows += chunk.rows;
      yield chunk.data;
    }
  }
  if (toStdout) await writeToStdout(counted());
  else await writeStreamAtomic(path, counted());
  return { path, format, rows, shards: plan.shards.length, components: plan.components };
}

/** `--out -`: the chunks to standard output, waiting for it to drain (a pipe may be slow). */
async function writeToStdout(source: AsyncIterable<Uint8Array | string>): Promise<void> {
  const out = process.stdout;
  // The reader went away (`| head`): stop quietly, as other Unix tools do; any other error fails.
  let failed: Error | undefined;
  let closed = false;
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === "EPIPE") closed = true;
    else failed = err;
  };
  out.on("error", onError);
  try {
    for await (const chunk of source) {
      if (closed) break;
      if (failed !== undefined) throw failed;
      if (!out.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            out.off("drain", done);
            out.off("error", done);
            resolve();
          };
          out.on("drain", done);
          out.on("error", done);
        });
      }
    }
    if (failed !== undefined) throw failed;
  } finally {
    out.off("error", onError);
  }
}

interface Chunk {
  data: Uint8Array | string;
  rows: number;
}

export const CSV_HEADER = "query_id,target_id,score";

/** Longest CSV row: two 19-character ids (2^63 - 1), three 22-character fixed-notation floats, separators. */
const CSV_ROW_MAX = 128;

async function* csvChunks(merged: AsyncIterable<ScoreRows>, components: boolean): AsyncGenerator<Chunk> {
  yield { data: components ? `${CSV_HEADER},forward,reverse\n` : `${CSV_HEADER}\n`, rows: 0 };
  // one buffer reused for every chunk: writeStreamAtomic writes a chunk before pulling the next
  let buf = Buffer.alloc(0);
  for await (const rows of merged) {
    if (buf.length < rows.length * CSV_ROW_MAX) buf = Buffer.alloc(rows.length * CSV_ROW_MAX);
    yield { data: buf.subarray(0, writeCsv(rows, components, buf)), rows: rows.length };
  }
}

/** Writes rows as CSV lines into buf (room for CSV_ROW_MAX bytes a row); returns the byte count. */
export function writeCsv(rows: ScoreRows, components: boolean, buf: Buffer): number {
  const { score: s, forward: f, reverse: r } = rows;
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  let at = 0;
  // A query's rows are consecutive: its id is printed once per run of rows.
  let query = "";
  for (let i = 0; i < rows.length; i++) {
    if (i === 0 || !sameIdAt(q, i, q, i - 1)) query = formatIdAt(q, i);
    const target = formatIdAt(t, i);
    at += buf.write(
      components
        ? `${query},${target},${formatFloat32(s[i])},${formatFloat32(f![i])},${formatFloat32(r![i])}\n`
        : `${query},${target},${formatFloat32(s[i])}\n`,
      at,
      "latin1",
    );
  }
  return at;
}

async function* parquetChunks(merged: AsyncIterable<ScoreRows>, plan: MergePlan, opts: ExportOptions): AsyncGenerator<Chunk> {
  const writer = new ByteWriter(1 << 20);
  const pq = new ShardWriter(writer, plan.components, { rowGroupRows: opts.rowGroupRows, metadata: { "nblast-fanout.export": "merged" } });
  const groupRows = pq.rowGroupRows;
  const buffer = new RowsBuilder(plan.components, Math.min(groupRows, Math.max(1, plan.rows)));
  // the writer keeps a running file offset for the footer, so its buffer can be drained
  // after every row group as long as nothing but it writes the file
  const drain = (rows: number): Chunk => {
    const data = writer.getBytes().slice();
    writer.index = 0;
    return { data, rows };
  };
  yield drain(0); // the "PAR1" magic
  for await (const rows of merged) {
    let at = 0;
    while (at < rows.length) {
      const take = Math.min(rows.length - at, groupRows - buffer.length);
      buffer.append(rows, at, at + take);
      at += take;
      if (buffer.length === groupRows) {
        pq.write(buffer.finish());
        const n = buffer.length;
        buffer.clear();
        yield drain(n);
      }
    }
  }
  const n = buffer.length;
  if (n > 0) pq.write(buffer.finish());
  pq.finish();
  yield drain(n);
}
