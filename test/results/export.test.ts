import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { exportMerged } from "../../src/results/export.ts";
import { mergeShards, planMerge } from "../../src/results/merge.ts";
import { RowsBuilder, type ScoreRows } from "../../src/results/rows.ts";
import { decodeShard, encodeShard, openShard, shardKey } from "../../src/results/shard.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import type { Storage } from "../../src/storage/types.ts";
import { bits, blockRows, mergedTuples, tuples } from "./helpers.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nbf-export-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const range = (from: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => from + i * step);

/** A run folder holding the given bins' rows as shards. */
async function run(name: string, bins: ScoreRows[], rowGroupRows = 64): Promise<LocalStorage> {
  const storage = new LocalStorage(join(dir, name));
  for (let b = 0; b < bins.length; b++) await storage.put(shardKey(b), encodeShard(bins[b], { rowGroupRows }));
  return storage;
}

function parseCsv(text: string): { header: string; rows: number[][] } {
  const lines = text.split("\n");
  expect(lines.pop()).toBe("");
  return { header: lines[0], rows: lines.slice(1).map((l) => l.split(",").map(Number)) };
}

describe("exportMerged", () => {
  it("CSV holds the concatenated rows sorted, scores reading back to the exact float32", async () => {
    // bins split by query, written in an order that is not the query order
    const bins = [
      blockRows(range(2 ** 34, 10), range(1, 50), 1),
      blockRows(range(100, 10), range(1, 50), 2),
      blockRows(range(200, 10), range(1, 50), 3),
    ];
    bins[1].score[0] = -0;
    const storage = await run("csv", bins);
    const out = join(dir, "out", "scores.csv");
    const summary = await exportMerged(storage, "csv", out);
    expect(summary).toMatchObject({ rows: 1500, shards: 3, components: false, format: "csv", path: out });
    const { header, rows } = parseCsv(await readFile(out, "utf8"));
    expect(header).toBe("query_id,target_id,score");
    const want = mergedTuples(bins);
    expect(rows.map((r) => r.slice(0, 2))).toEqual(want.map((r) => r.slice(0, 2)));
    const got = new Float32Array(rows.map((r) => r[2]));
    expect(Array.from(bits(got))).toEqual(Array.from(bits(new Float32Array(want.map((r) => r[2])))));
    expect((await readFile(out, "utf8")).split("\n")[1]).toMatch(/^100,1,-0$/);
  });

  it("merges and prints ids past 2^53 exactly (CSV text and Parquet int64), with query ranges that overlap across shards", async () => {
    const base = [9007199254740993n, 720575940621039145n, 9223372036854775807n - 40n];
    const rowsOf = (queries: bigint[], targets: bigint[], s: number): ScoreRows => {
      const b = new RowsBuilder();
      for (const q of queries) for (const t of targets) b.push(q, t, s);
      return b.finish();
    };
    const q = base.flatMap((x) => [x, x + 1n, x + 2n]);
    const t = base.flatMap((x) => [x + 10n, x + 11n]);
    const t2 = base.flatMap((x) => [x + 20n, x + 40n]); // up to 2^63 - 1
    const bins = [rowsOf(q, t, 0.5), rowsOf(q, t2, 0.25)];
    const storage = await run("big-ids", bins, 4);
    const csv = join(dir, "out", "big.csv");
    await exportMerged(storage, "csv", csv);
    const lines = (await readFile(csv, "utf8")).trimEnd().split("\n").slice(1);
    const want: string[] = [];
    for (const x of q) for (const y of [...t, ...t2].sort((a, b) => (a < b ? -1 : 1))) want.push(`${x},${y},${t.includes(y) ? "0.5" : "0.25"}`);
    expect(lines).toEqual(want);
    expect(lines).toContain("9223372036854775767,9223372036854775807,0.25");
    const pq = join(dir, "out", "big.parquet");
    await exportMerged(storage, "parquet", pq);
    const back = await decodeShard(new Uint8Array(await readFile(pq)));
    expect(lines.map((l) => l.split(",").slice(0, 2).join(","))).toEqual([...back.queryId].map((x, i) => `${x},${back.targetId[i]}`));
  });

  it("caps each query at the run's top N over the merged rows, when bins split a query's targets", async () => {
    // Two bins meet the same queries with different targets; small row groups make the
    // merge hand rows over in many chunks, so queries straddle chunk boundaries.
    const bins = [blockRows(range(1, 30), range(1, 40), 7), blockRows(range(1, 30), range(41, 40), 8)];
    const storage = await run("topn", bins, 16);
    const out = join(dir, "out", "topn.csv");
    const topN = 5;
    const summary = await exportMerged(storage, "csv", out, { topN });
    const { rows } = parseCsv(await readFile(out, "utf8"));
    const want = new Map<number, number[][]>();
    for (const row of mergedTuples(bins)) want.set(row[0], [...(want.get(row[0]) ?? []), row]);
    const expected = [...want.values()].flatMap((rs) =>
      rs
        .sort((a, b) => b[2] - a[2] || a[1] - b[1])
        .slice(0, topN)
        .sort((a, b) => a[1] - b[1]),
    );
    expect(summary.rows).toBe(30 * topN);
    expect(rows.map((r) => [r[0], r[1], Math.fround(r[2])])).toEqual(expected.map((r) => [r[0], r[1], Math.fround(r[2])]));
  });

  it("CSV carries forward and reverse columns when the run kept them", async () => {
    const storage = await run("csv-fr", [blockRows([1, 2], [3, 4], 5, true)]);
    const out = join(dir, "fr.csv");
    await exportMerged(storage, "csv", out);
    const { header, rows } = parseCsv(await readFile(out, "utf8"));
    expect(header).toBe("query_id,target_id,score,forward,reverse");
    expect(rows.map((r) => r.map((v, i) => (i < 2 ? v : Math.fround(v))))).toEqual(mergedTuples([blockRows([1, 2], [3, 4], 5, true)]));
  });

  it("Parquet merges bins that overlap in query ids (query x target tiles) into one sorted shard-format file", async () => {
    const qa = range(10, 12), qb = range(50, 12), ta = range(1000, 40), tb = range(2000, 40);
    const bins = [blockRows(qa, tb, 1, true), blockRows(qa, ta, 2, true), blockRows(qb, ta, 3, true), blockRows(qb, tb, 4, true)];
    const storage = await run("tiles", bins, 100);
    const out = join(dir, "tiles.parquet");
    const summary = await exportMerged(storage, "parquet", out, { rowGroupRows: 250 });
    expect(summary.rows).toBe(4 * 12 * 40);
    const bytes = new Uint8Array(await readFile(out));
    const back = await decodeShard(bytes);
    expect(tuples(back)).toEqual(mergedTuples(bins));
    const info = (await openShard(bytes)).info;
    expect(info.rowGroups.map((g) => g.numRows)).toEqual([250, 250, 250, 250, 250, 250, 250, 170]);
    expect(info.metadata["nblast-fanout.export"]).toBe("merged");
  });

  it("Parquet export of bins split by query equals the concatenation", async () => {
    const bins = [blockRows(range(1, 5), range(1, 30), 7), blockRows(range(6, 5), range(1, 30), 8)];
    const storage = await run("plain", bins, 32);
    const out = join(dir, "plain.parquet");
    await exportMerged(storage, "parquet", out);
    expect(tuples(await decodeShard(new Uint8Array(await readFile(out))))).toEqual([...tuples(bins[0]), ...tuples(bins[1])]);
  });

  it("exports a run whose shards are all empty", async () => {
    const storage = await run("empty", [blockRows([], [], 1), blockRows([], [], 2)]);
    await exportMerged(storage, "csv", join(dir, "empty.csv"));
    expect(await readFile(join(dir, "empty.csv"), "utf8")).toBe("query_id,target_id,score\n");
    await exportMerged(storage, "parquet", join(dir, "empty.parquet"));
    expect((await decodeShard(new Uint8Array(await readFile(join(dir, "empty.parquet"))))).length).toBe(0);
  });

  it("refuses a pair found in two shards, leaving an existing output untouched and no temp file", async () => {
    const storage = await run("dup", [blockRows([1, 2], [1, 2, 3], 1), blockRows([2, 3], [3, 4], 2)]);
    const out = join(dir, "dup-out", "x.csv");
    await exportMerged(await run("ok", [blockRows([1], [1], 1)]), "csv", out);
    const before = await readFile(out, "utf8");
    const err = await exportMerged(storage, "csv", out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/pair \(query 2, target 3\) appears in both .*bin=0\.parquet and .*bin=1\.parquet/);
    expect(await readFile(out, "utf8")).toBe(before);
    expect(await readdir(join(dir, "dup-out"))).toEqual(["x.csv"]);
  });

  it("refuses runs whose shards disagree on forward/reverse, and runs without shards", async () => {
    const mixed = await run("mixed", [blockRows([1], [1], 1, true), blockRows([2], [1], 1, false)]);
    await expect(exportMerged(mixed, "csv", join(dir, "m.csv"))).rejects.toThrow(/disagree on columns/);
    const none = new LocalStorage(join(dir, "none"));
    await writeFile(join(dir, "stray.txt"), "x");
    await expect(exportMerged(none, "parquet", join(dir, "n.parquet"))).rejects.toThrow(InputError);
  });

  it("streams: shards split by query are read one after another, never interleaved", async () => {
    const bins = [0, 1, 2].map((b) => blockRows(range(b * 100, 8), range(1, 40), b));
    const storage = await run("stream", bins, 50);
    const reads: string[] = [];
    const recorded = new Proxy(storage as Storage, {
      get(target, prop) {
        if (prop === "getRange") {
          return (key: string, offset: number, length: number) => {
            reads.push(key);
            return target.getRange(key, offset, length);
          };
        }
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const plan = await planMerge(recorded);
    reads.length = 0;
    const got: number[][] = [];
    for await (const rows of mergeShards(recorded, plan)) got.push(...tuples(rows));
    expect(got).toEqual(mergedTuples(bins));
    const order = reads.map((k) => Number(/bin=(\d+)/.exec(k)![1]));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(new Set(order)).toEqual(new Set([0, 1, 2]));
  });
});
