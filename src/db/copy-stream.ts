/**
 * One `COPY public.nblast_similarity_score ... FROM STDIN (FORMAT binary)` through
 * pg-copy-streams, fed with encoded chunks under backpressure. Each chunk goes out as one
 * CopyData message; a failure on the server (a unique violation, a killed backend) ends
 * the stream with that error, which the next send or finish throws.
 */
import { once } from "node:events";
import { finished } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { COPY_COLUMNS, COPY_HEADER, COPY_TRAILER } from "./copy-binary.ts";
import { SCORE_TABLE } from "./schema.ts";

export interface ScoreCopy {
  /** Writes a chunk; resolves when the stream can take more. */
  send(chunk: Uint8Array): Promise<void>;
  /** Sends the trailer and waits for the server's CommandComplete. Returns rows copied. */
  finish(): Promise<number>;
  /** Ends the COPY with CopyFail (the transaction is then aborted). */
  abort(reason: unknown): Promise<void>;
}

/** Bytes buffered ahead of the socket before send() waits. */
const HIGH_WATER = 4 * 1024 * 1024;

/** `table`: another table of the score table's columns (the benchmark's index probes); quoted by the caller. */
export async function startScoreCopy(client: pg.Client, table = SCORE_TABLE): Promise<ScoreCopy> {
  const stream = client.query(copyFrom(`COPY ${table} ${COPY_COLUMNS} FROM STDIN (FORMAT binary)`, { highWaterMark: HIGH_WATER }));
  let failure: unknown;
  stream.on("error", (e) => (failure ??= e));
  const copy: ScoreCopy = {
    async send(chunk) {
      if (failure !== undefined) throw failure;
      if (!stream.write(chunk)) await once(stream, "drain");
    },
    async finish() {
      if (failure !== undefined) throw failure;
      stream.end(COPY_TRAILER);
      await finished(stream);
      return stream.rowCount;
    },
    async abort(reason) {
      if (!stream.destroyed) stream.destroy(reason instanceof Error ? reason : new Error(String(reason)));
      await finished(stream).catch(() => {});
    },
  };
  await copy.send(COPY_HEADER);
  return copy;
}
