import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { RowsBuilder, type ScoreRows } from "../../src/results/rows.ts";
import { encodeShard, shardKey } from "../../src/results/shard.ts";
import { topMatches, type Match } from "../../src/results/top.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { blockRows, tuples } from "./helpers.ts";

let dir: string;
let storage: LocalStorage;
const parts: ScoreRows[] = [];
const ids = Array.from({ length: 30 }, (_, i) => 2 ** 35 + i * 3);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nbf-top-"));
  storage = new LocalStorage(dir);
  // three bins split by query; every query against every id (self pairs included)
  for (let bin = 0; bin < 3; bin++) {
    const rows = blockRows(ids.slice(bin * 10, bin * 10 + 10), ids, 100 + bin);
    parts.push(rows);
    await storage.put(shardKey(bin), encodeShard(rows, { rowGroupRows: 40 }));
  }
  // things under shards/ that are not shards are ignored
  await storage.put("shards/bin=0.parquet.json", "{}");
  await storage.put("shards/notes.txt", "hello");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function bruteForce(neuron: number, n: number, asQuery: boolean, includeSelf = false): Match[] {
  const all = parts.flatMap(tuples).filter(([q, t]) => (asQuery ? q === neuron : t === neuron) && (includeSelf || q !== t));
  const other = (r: number[]) => (asQuery ? r[1] : r[0]);
  all.sort((a, b) => b[2] - a[2] || other(a) - other(b));
  return all.slice(0, n).map(([queryId, targetId, score]) => ({ queryId: BigInt(queryId), targetId: BigInt(targetId), score }));
}

describe("topMatches", () => {
  it("finds the best n in both directions, as a full scan would", async () => {
    for (const neuron of [ids[0], ids[14], ids[29]]) {
      const top = await topMatches(storage, BigInt(neuron), 5);
      expect(top.asQuery).toEqual(bruteForce(neuron, 5, true));
      expect(top.asTarget).toEqual(bruteForce(neuron, 5, false));
      expect(top.shards).toBe(3);
      expect(top.asQuery.every((m) => m.queryId === BigInt(neuron) && m.targetId !== BigInt(neuron))).toBe(true);
    }
  });

  it("includes the self pair only on request", async () => {
    const top = await topMatches(storage, BigInt(ids[3]), 100, { includeSelf: true });
    expect(top.asQuery).toEqual(bruteForce(ids[3], 100, true, true));
    expect(top.asQuery.length).toBe(30);
    expect(top.asTarget.some((m) => m.queryId === BigInt(ids[3]))).toBe(true);
  });

  it("skips row groups whose statistics exclude the neuron", async () => {
    // an id outside every target range but inside one bin's query range: only that bin's
    // groups holding its query rows are read
    const b = new RowsBuilder();
    for (let t = 0; t < 100; t++) b.push(5n, BigInt(1000 + t), t / 128);
    for (let t = 0; t < 100; t++) b.push(6n, BigInt(1000 + t), -t / 128);
    const s2 = new LocalStorage(join(dir, "skip-run"));
    await s2.put(shardKey(0), encodeShard(b.finish(), { rowGroupRows: 50 }));
    await s2.put(shardKey(1), encodeShard(blockRows([7, 8], [1000, 1001], 1), { rowGroupRows: 50 }));
    const top = await topMatches(s2, 5n, 3);
    expect(top.asQuery.map((m) => m.targetId)).toEqual([1099n, 1098n, 1097n]);
    expect(top.asQuery[0].score).toBe(99 / 128);
    expect(top.asTarget).toEqual([]);
    expect(top.rowGroupsRead).toBe(2);
    expect(top.rowGroupsSkipped).toBe(3);
  });

  it("breaks score ties by the other id ascending", async () => {
    const b = new RowsBuilder();
    for (const t of [40, 10, 30, 20]) b.push(1n, BigInt(t), 0.5);
    for (const q of [9, 3, 7]) b.push(BigInt(q), 1n, 0.25);
    const s3 = new LocalStorage(join(dir, "ties-run"));
    await s3.put(shardKey(0), encodeShard(b.finish()));
    const top = await topMatches(s3, 1n, 3);
    expect(top.asQuery.map((m) => m.targetId)).toEqual([10n, 20n, 30n]);
    expect(top.asTarget.map((m) => m.queryId)).toEqual([3n, 7n, 9n]);
  });

  it("gives InputError for a folder without shards and for bad arguments", async () => {
    const empty = new LocalStorage(join(dir, "no-run"));
    await expect(topMatches(empty, 1n, 3)).rejects.toThrow(InputError);
    await expect(topMatches(storage, 1n, 0)).rejects.toThrow(/positive integer/);
    await expect(topMatches(storage, -1n, 3)).rejects.toThrow(/neuron id/);
  });
});
