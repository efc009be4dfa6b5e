/**
 * Score shard throughput: encode, decode whole, stream row group by row group, and the
 * merged CSV / Parquet export, for an all-by-all block of random float32 scores.
 * MB/s is of the shard file's bytes.
 *
 *   node bench/parquet.bench.ts [rows=10000000] [components=1] [ids=small|big]
 *
 * ids: small (the default) numbers them from 1e9, like CATMAID skeleton ids; big from
 * 720575940621039145, like FlyWire root ids (past 2^53).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportMerged } from "../src/results/export.ts";
import { RowsBuilder } from "../src/results/rows.ts";
import { decodeShard, encodeShard, readShardRowGroups, shardKey } from "../src/results/shard.ts";
import { LocalStorage } from "../src/storage/local.ts";

const rows = Number(process.argv[2] ?? 10_000_000);
const components = (process.argv[3] ?? "1") !== "0";
const base = (process.argv[4] ?? "small") === "big" ? 720575940621039145n : 1_000_000_000n;
const targets = 20_000;
const queries = Math.ceil(rows / targets);

// mulberry32: scores with full-entropy mantissas, like real NBLAST scores (they do not compress)
let seed = 12345;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const b = new RowsBuilder(components, rows);
outer: for (let q = 0; q < queries; q++) {
  for (let t = 0; t < targets; t++) {
    if (b.length === rows) break outer;
    const f = random() * 2 - 1.2;
    const r = random() * 2 - 1.2;
    b.push(base + BigInt(q * 17), base + BigInt(t * 13), (f + r) / 2, f, r);
  }
}
const data = b.finish();
console.log(`${rows.toLocaleString()} rows, ${queries} queries x ${targets} targets, forward/reverse: ${components}, ids from ${base}`);

const report = (what: string, ms: number, bytes: number, n = rows): void => {
  const s = ms / 1000;
  console.log(
    `${what.padEnd(22)} ${ms.toFixed(0).padStart(7)} ms  ${(bytes / 1e6 / s).toFixed(1).padStart(7)} MB/s  ${(n / 1e6 / s).toFixed(2).padStart(6)} M rows/s`,
  );
};

let t0 = performance.now();
const bytes = encodeShard(data);
report("encode", performance.now() - t0, bytes.length);
console.log(`shard size: ${(bytes.length / 1e6).toFixed(1)} MB, ${(bytes.length / rows).toFixed(2)} bytes/row`);

t0 = performance.now();
const back = await decodeShard(bytes);
report("decode (whole)", performance.now() - t0, bytes.length);
if (back.length !== rows) throw new Error("decoded row count differs");

t0 = performance.now();
let streamed = 0;
await readShardRowGroups(bytes, (g) => {
  streamed += g.length;
}, { components: false });
report("stream (core columns)", performance.now() - t0, bytes.length, streamed);

const dir = await mkdtemp(join(tmpdir(), "nbf-parquet-bench-"));
try {
  const storage = new LocalStorage(join(dir, "run"));
  await storage.put(shardKey(0), bytes);
  t0 = performance.now();
  await exportMerged(storage, "parquet", join(dir, "all.parquet"));
  report("export parquet", performance.now() - t0, bytes.length);
  const csvRows = Math.min(rows, 2_000_000);
  if (csvRows < rows) {
    await storage.put(shardKey(0), encodeShard({ ...data, length: csvRows, queryId: data.queryId.subarray(0, csvRows), targetId: data.targetId.subarray(0, csvRows), score: data.score.subarray(0, csvRows), forward: data.forward?.subarray(0, csvRows), reverse: data.reverse?.subarray(0, csvRows) }));
  }
  t0 = performance.now();
  await exportMerged(storage, "csv", join(dir, "all.csv"));
  report(`export csv (${(csvRows / 1e6).toFixed(0)}M rows)`, performance.now() - t0, bytes.length * (csvRows / rows), csvRows);
} finally {
  await rm(dir, { recursive: true, force: true });
}
