import { RowsBuilder, type ScoreRows } from "../../src/results/rows.ts";
import { rng } from "../helpers/rng.ts";

/**
 * A full query x target block of rows (query-major, targets ascending), with scores in
 * [-1.5, 1) and, on request, forward/reverse columns.
 */
export function blockRows(queries: (number | bigint)[], targets: (number | bigint)[], seed: number, components = false): ScoreRows {
  const r = rng(seed);
  const b = new RowsBuilder(components, 4);
  for (const q of queries) {
    for (const t of targets) {
      const f = r() * 2.5 - 1.5;
      const v = r() * 2.5 - 1.5;
      if (components) b.push(BigInt(q), BigInt(t), (f + v) / 2, f, v);
      else b.push(BigInt(q), BigInt(t), f);
    }
  }
  return b.finish();
}

/** A test's small id as a number (these tests use ids below 2^53; others use bigTuples). */
export function small(id: bigint): number {
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`test helper: id ${id} is beyond 2^53; use bigTuples`);
  return Number(id);
}

/** Rows as plain tuples, for readable deep equality in failures (small ids as numbers). */
export function tuples(rows: ScoreRows): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = [small(rows.queryId[i]), small(rows.targetId[i]), rows.score[i]];
    if (rows.forward && rows.reverse) row.push(rows.forward[i], rows.reverse[i]);
    out.push(row);
  }
  return out;
}

/** Bit patterns of a float32 column (distinguishes -0 from 0). */
export function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Rows as tuples with ids as bigints (for ids past 2^53). */
export function bigTuples(rows: ScoreRows): (bigint | number)[][] {
  const out: (bigint | number)[][] = [];
  for (let i = 0; i < rows.length; i++) out.push([rows.queryId[i], rows.targetId[i], rows.score[i]]);
  return out;
}

/** Concatenation of several row sets, sorted by (query, target), as tuples. */
export function mergedTuples(parts: ScoreRows[]): number[][] {
  return parts.flatMap(tuples).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}
