import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parquetMetadata } from "hyparquet";
import { InputError } from "../../src/nblast/errors.ts";
import { RowsBuilder, emptyRows, type ScoreRows } from "../../src/results/rows.ts";
import {
  FORMAT_KEY, FORMAT_VERSION, decodeShard, encodeShard, openShard, readShardRowGroups, shardChecksum, shardKey,
} from "../../src/results/shard.ts";
import type { AsyncBuffer } from "../../src/results/source.ts";
import { rng } from "../helpers/rng.ts";
import { bigTuples, bits, blockRows, tuples } from "./helpers.ts";

/** Random distinct pairs with ids spanning 0..2^53, scores of every sign and size (incl. -0). */
function randomRows(n: number, seed: number, components: boolean): ScoreRows {
  const r = rng(seed);
  const b = new RowsBuilder(components);
  const seen = new Set<string>();
  const id = (): bigint => {
    const k = r();
    if (k < 0.25) return BigInt(Math.floor(r() * 1000));
    if (k < 0.5) return BigInt(2 ** 32 + Math.floor(r() * 2 ** 20) - 2 ** 19); // around 2^32
    if (k < 0.7) return BigInt(Math.floor(r() * 2 ** 53)); // up to 2^53 - 1
    if (k < 0.85) return (1n << 53n) + BigInt(Math.floor(r() * 2 ** 20)) - (1n << 19n); // around 2^53, past it
    return (1n << 63n) - 1n - BigInt(Math.floor(r() * 2 ** 40)) * 4096n; // up to 2^63 - 1
  };
  const score = () => {
    const k = r();
    if (k < 0.05) return -0;
    if (k < 0.1) return 0;
    if (k < 0.4) return (r() - 0.7) * 2; // mostly negative, like raw NBLAST
    return (r() - 0.5) * 10 ** (r() * 60 - 30); // wide exponent range
  };
  while (b.length < n) {
    const q = id(), t = id();
    const key = `${q},${t}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (components) b.push(q, t, score(), score(), score());
    else b.push(q, t, score());
  }
  return b.finish();
}

function sortedCopy(rows: ScoreRows): (bigint | number)[][] {
  const cmp = (x: bigint | number, y: bigint | number): number => (x < y ? -1 : x > y ? 1 : 0);
  return bigTuples(rows).sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
}

function expectBitIdentical(got: ScoreRows, want: ScoreRows): void {
  expect(got.length).toBe(want.length);
  expect(Array.from(got.queryId)).toEqual(Array.from(want.queryId));
  expect(Array.from(got.targetId)).toEqual(Array.from(want.targetId));
  expect(Array.from(bits(got.score))).toEqual(Array.from(bits(want.score)));
  expect(got.forward === undefined).toBe(want.forward === undefined);
  if (want.forward) expect(Array.from(bits(got.forward!))).toEqual(Array.from(bits(want.forward)));
  if (want.reverse) expect(Array.from(bits(got.reverse!))).toEqual(Array.from(bits(want.reverse)));
}

/** An AsyncBuffer over bytes that records the byte ranges read. */
function recording(bytes: Uint8Array): { file: AsyncBuffer; reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  return {
    reads,
    file: {
      byteLength: bytes.byteLength,
      async slice(start: number, end = bytes.byteLength) {
        reads.push([start, end]);
        return bytes.slice(start, end).buffer;
      },
    },
  };
}

describe("encodeShard / decodeShard", () => {
  it.each([false, true])("round-trips random rows bit-identically (forward/reverse: %s)", async (components) => {
    const rows = randomRows(5000, components ? 2 : 1, components);
    const bytes = encodeShard(rows, { rowGroupRows: 1500 });
    const back = await decodeShard(bytes);
    // the shard holds the rows sorted by (query, target)
    expect(bigTuples(back)).toEqual(sortedCopy(rows));
    // and re-encoding what was read gives the same bytes
    expectBitIdentical(await decodeShard(encodeShard(back, { rowGroupRows: 1500 })), back);
    expect(encodeShard(back, { rowGroupRows: 1500 })).toEqual(bytes);
    expect(Object.is(back.score[back.score.findIndex((v) => Object.is(v, -0))], -0)).toBe(true);
  });

  it("is deterministic: same rows in any order give the same bytes", () => {
    const rows = blockRows([7, 3, 5], [1, 2, 3, 4], 3, true);
    const reversed = new RowsBuilder(true);
    for (let i = rows.length - 1; i >= 0; i--) {
      reversed.push(rows.queryId[i], rows.targetId[i], rows.score[i], rows.forward![i], rows.reverse![i]);
    }
    const a = encodeShard(rows, { metadata: { bin: "4", run: "x" } });
    const b = encodeShard(reversed.finish(), { metadata: { run: "x", bin: "4" } });
    expect(shardChecksum(a)).toBe(shardChecksum(b));
    expect(a).toEqual(b);
  });

  it("writes INT64 ids and FLOAT scores, REQUIRED, with format metadata", async () => {
    const bytes = encodeShard(blockRows([2 ** 33], [1, 2], 1, true), { metadata: { bin: "12" } });
    const md = parquetMetadata(bytes);
    expect(md.schema.slice(1).map((e) => [e.name, e.type, e.repetition_type])).toEqual([
      ["query_id", "INT64", "REQUIRED"], ["target_id", "INT64", "REQUIRED"], ["score", "FLOAT", "REQUIRED"],
      ["forward", "FLOAT", "REQUIRED"], ["reverse", "FLOAT", "REQUIRED"],
    ]);
    const info = (await openShard(bytes)).info;
    expect(info.metadata).toEqual({ [FORMAT_KEY]: FORMAT_VERSION, bin: "12" });
    expect(info.components).toBe(true);
  });

  it("refuses NaN scores and duplicate pairs", () => {
    const rows = blockRows([1], [1, 2, 3], 1);
    rows.score[1] = NaN;
    expect(() => encodeShard(rows)).toThrow(/score NaN; scores must be finite/);
    const dup = blockRows([1], [1, 2], 1);
    dup.targetId[1] = 1n;
    expect(() => encodeShard(dup)).toThrow(/duplicate pair \(query 1, target 1\)/);
  });

  it("handles an empty shard (a bin whose rows the policy all dropped)", async () => {
    const bytes = encodeShard(emptyRows(false));
    const back = await decodeShard(bytes);
    expect(back.length).toBe(0);
    expect((await openShard(bytes)).info.rowGroups.length).toBe(0);
  });

  it("reads a Uint8Array view at an offset (e.g. a pooled Buffer)", async () => {
    const bytes = encodeShard(blockRows([1, 2], [3, 4], 5));
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 7);
    expect(tuples(await decodeShard(padded.subarray(7, 7 + bytes.length)))).toEqual(tuples(await decodeShard(bytes)));
  });

  it("sha256 checksum is the hex digest of the bytes", () => {
    const bytes = new TextEncoder().encode("abc");
    expect(shardChecksum(bytes)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const shard = encodeShard(blockRows([1], [2], 1));
    expect(shardChecksum(shard)).toBe(createHash("sha256").update(shard).digest("hex"));
  });

  it("names the shard key of a bin", () => {
    expect(shardKey(17)).toBe("shards/bin=17.parquet");
  });
});

describe("readShardRowGroups", () => {
  it("streams row groups in order, one at a time, with query/target statistics", async () => {
    const queries = Array.from({ length: 10 }, (_, i) => 1000 + i * 10);
    const targets = Array.from({ length: 100 }, (_, i) => 2 ** 40 + i);
    const rows = blockRows(queries, targets, 9);
    const bytes = encodeShard(rows, { rowGroupRows: 250 });
    const seen: number[][] = [];
    let maxGroup = 0;
    const info = await readShardRowGroups(bytes, (group, g) => {
      maxGroup = Math.max(maxGroup, group.length);
      expect(g.minQuery).toBe(group.queryId[0]);
      expect(g.maxQuery).toBe(group.queryId[group.length - 1]);
      expect(g.minTarget).toBe(1n << 40n);
      expect(g.maxTarget).toBe((1n << 40n) + 99n);
      seen.push(...tuples(group));
    });
    expect(info.rowGroups.map((g) => g.numRows)).toEqual([250, 250, 250, 250]);
    expect(maxGroup).toBe(250);
    expect(seen).toEqual(tuples(rows));
  });

  it("reads only the footer and the groups it does not skip", async () => {
    const rows = blockRows([1, 2, 3, 4], Array.from({ length: 500 }, (_, i) => i), 4);
    const bytes = encodeShard(rows, { rowGroupRows: 500 });
    const rec = recording(bytes);
    const shard = await openShard(rec.file, "rec");
    const footerReads = rec.reads.length;
    const got: bigint[] = [];
    await readShardRowGroups(shard, (g) => { got.push(g.queryId[0]); }, { skip: (g) => g.minQuery !== 3n });
    expect(got).toEqual([3n]);
    const g3 = shard.parquet.row_groups[2];
    const lo = Math.min(...g3.columns.map((c) => Number(c.meta_data!.data_page_offset)));
    const hi = lo + Number(g3.total_compressed_size);
    for (const [start, end] of rec.reads.slice(footerReads)) {
      expect(start).toBeGreaterThanOrEqual(lo);
      expect(end).toBeLessThanOrEqual(hi);
    }
  });

  it("can leave out the forward/reverse columns", async () => {
    const bytes = encodeShard(blockRows([1], [1, 2, 3], 2, true));
    const core = await decodeShard(bytes, { components: false });
    expect(core.forward).toBeUndefined();
    expect(core.length).toBe(3);
  });

  it("gives InputError naming the source for files that are not shards", async () => {
    await expect(openShard(new TextEncoder().encode("not parquet at all"), "shards/bin=1.parquet"))
      .rejects.toThrow(InputError);
    await expect(openShard(new TextEncoder().encode("not parquet at all"), "shards/bin=1.parquet"))
      .rejects.toThrow(/^shards\/bin=1\.parquet: not a readable Parquet file/);
    await expect(openShard(new Uint8Array(0), "empty.parquet")).rejects.toThrow(/^empty\.parquet: not a Parquet file \(0 bytes\)/);
    const truncated = encodeShard(blockRows([1], [2], 1));
    await expect(openShard(truncated.subarray(0, truncated.length - 9), "cut.parquet")).rejects.toThrow(InputError);
    const { parquetWriteBuffer } = await import("hyparquet-writer");
    const other = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "x", data: [1, 2], type: "INT32" }] }));
    await expect(decodeShard(other, { source: "other.parquet" })).rejects.toThrow(/other\.parquet: not a score shard: no query_id column/);
  });

  it("refuses a foreign file whose rows are not sorted", async () => {
    const { parquetWriteBuffer } = await import("hyparquet-writer");
    const bytes = new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: "query_id", data: new BigInt64Array([2n, 1n]), type: "INT64" },
        { name: "target_id", data: new BigInt64Array([1n, 1n]), type: "INT64" },
        { name: "score", data: new Float32Array([0.5, 0.5]), type: "FLOAT" },
      ],
    }));
    await expect(decodeShard(bytes, { source: "f.parquet" })).rejects.toThrow(/f\.parquet: row 1: pair \(1, 1\) is not after \(2, 1\)/);
  });

  it("refuses a foreign file with a negative id, naming the row", async () => {
    const { parquetWriteBuffer } = await import("hyparquet-writer");
    const bytes = new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: "query_id", data: new BigInt64Array([1n, 2n]), type: "INT64" },
        { name: "target_id", data: new BigInt64Array([5n, -9223372036854775808n]), type: "INT64" },
        { name: "score", data: new Float32Array([0.5, 0.5]), type: "FLOAT" },
      ],
    }));
    await expect(decodeShard(bytes, { source: "neg.parquet" }))
      .rejects.toThrow(/neg\.parquet: column target_id, row 1: id -9223372036854775808 is negative/);
  });

  it("keeps ids past 2^53 exact through encode and decode, as any Parquet reader sees them", async () => {
    const ids = [9007199254740993n, 720575940621039145n, 9223372036854775807n];
    const b = new RowsBuilder();
    for (const q of ids) for (const t of ids) b.push(q, t, 0.25);
    const bytes = encodeShard(b.finish());
    const back = await decodeShard(bytes);
    expect([...back.queryId]).toEqual(ids.flatMap((q) => [q, q, q]));
    expect([...back.targetId]).toEqual([...ids, ...ids, ...ids]);
    const { parquetReadObjects } = await import("hyparquet");
    const objects = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer });
    expect(objects.map((o) => o.target_id)).toEqual([...ids, ...ids, ...ids]);
    const info = (await openShard(bytes)).info.rowGroups[0];
    expect([info.minQuery, info.maxQuery, info.minTarget, info.maxTarget]).toEqual([ids[0], ids[2], ids[0], ids[2]]);
  });
});
