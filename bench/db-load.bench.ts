/**
 * Loading scores into Postgres: rows per second of `load` (binary COPY from the shards,
 * one transaction per bin, into CATMAID's table with all five of its indexes), beside
 * CATMAID's own way (single-row INSERT ... ON CONFLICT DO UPDATE, 100 statements a round
 * trip, as its execute_batch(page_size=100)) and multi-row INSERT (1000 rows a statement),
 * measured in the same run on the same rows. Also: the encoder alone, chunk sizes,
 * parallel bins, and one COPY of every row into tables with none, each and all of
 * CATMAID's indexes (where the time goes; dropping CATMAID's indexes is not an option for
 * an incremental load into a live table).
 *
 *   node bench/db-load.bench.ts [rows=1000000]      (DATABASE_URL: an admin login; default postgres@127.0.0.1)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { CopyEncoder, initSchema, loadRun, shardIdsAsInt64, startScoreCopy, type DbTarget } from "../src/db/index.ts";
import type { ScoreRows } from "../src/results/rows.ts";
import { LocalStorage } from "../src/storage/local.ts";
import { syntheticBinRows, syntheticManifest, writeBin } from "../test/db/fixtures.ts";
import { writeManifest } from "../src/plan/manifest.ts";

const wanted = Number(process.argv[2] ?? 1_000_000);
const neurons = Math.round((1 + Math.sqrt(1 + 4 * wanted)) / 2); // n (n - 1) rows all-by-all
const bins = 8;
const slowRows = Math.min(200_000, wanted);
const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `nbf_bench_${process.pid}`;

const root = new pg.Client({ connectionString: adminUrl });
await root.connect();
await root.query(`CREATE DATABASE ${dbName}`);
const u = new URL(adminUrl);
u.pathname = `/${dbName}`;
const target: DbTarget = { config: { connectionString: u.toString() }, origin: "bench" };
const dir = await mkdtemp(join(tmpdir(), "nbf-bench-db-"));
const results: { what: string; rows: number; seconds: number }[] = [];
const row = (what: string, rows: number, seconds: number): void => {
  results.push({ what, rows, seconds });
  console.log(`${what.padEnd(58)} ${String(rows).padStart(9)} rows ${seconds.toFixed(2).padStart(7)} s ${(rows / seconds / 1e6).toFixed(2).padStart(6)} M rows/s`);
};

try {
  const client = new pg.Client(target.config);
  await client.connect();
  await initSchema(client);
  const run = new LocalStorage(dir);
  const manifest = syntheticManifest({ neurons, bins });
  await writeManifest(run, manifest);
  const all: ScoreRows[] = [];
  for (let b = 0; b < bins; b++) {
    all.push(syntheticBinRows(manifest, b));
    await writeBin(run, manifest, b, all[b]);
  }
  const total = all.reduce((a, r) => a + r.length, 0);
  console.log(`${total} rows (${neurons} neurons all-by-all, ${bins} bins), Postgres ${(await client.query("SHOW server_version")).rows[0].server_version}\n`);

  // the encoder alone (adapter from today's Float64Array ids + binary rows)
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    let bytes = 0;
    const enc = new CopyEncoder(1);
    for (const r of all) for (const c of enc.chunks({ queryId: shardIdsAsInt64(r.queryId), targetId: shardIdsAsInt64(r.targetId), score: r.score, length: r.length })) bytes += c.length;
    if (rep === 2) row(`encode only (${(bytes / 2 ** 20).toFixed(0)} MiB of COPY data)`, total, (performance.now() - t0) / 1000);
  }

  let sim = 100;
  const best = new Map<string, number>();
  // every measurement starts from an empty score table (and ledger), so that none pays for an index grown by the others
  const empty = async () => {
    await client.query(`TRUNCATE nblast_similarity_score, nblast_fanout.bins, nblast_fanout.runs`);
    await client.query(`CHECKPOINT`).catch(() => {});
  };
  const load = async (label: string, opts: { jobs?: number; chunkRows?: number }) => {
    await empty();
    const id = ++sim;
    const t0 = performance.now();
    const s = await loadRun({ run, db: target, similarityId: id, ...opts });
    const seconds = (performance.now() - t0) / 1000;
    if (s.loadedBins !== bins) throw new Error("not every bin loaded");
    best.set(label, Math.min(best.get(label) ?? Infinity, seconds));
    return id;
  };
  // warm-up, then every setting twice, interleaved (the machine is shared): the faster run counts
  await load("warm-up", { jobs: 1 });
  const settings: [string, { jobs: number; chunkRows: number }][] = [
    ["load --jobs 1, 32768-row chunks", { jobs: 1, chunkRows: 32768 }],
    ["load --jobs 1, 131072-row chunks (default)", { jobs: 1, chunkRows: 131072 }],
    ["load --jobs 2, 131072-row chunks", { jobs: 2, chunkRows: 131072 }],
    ["load --jobs 1, 8192-row chunks", { jobs: 1, chunkRows: 8192 }],
  ];
  let main = 0;
  for (let rep = 0; rep < 2; rep++) for (const [label, opts] of settings) main = await load(label, opts);
  for (const [label] of settings) row(label, total, best.get(label)!);
  {
    const t0 = performance.now();
    await loadRun({ run, db: target, similarityId: main });
    row("load again, nothing changed (ledger check only)", total, (performance.now() - t0) / 1000);
  }

  // where the time goes: one COPY of every row into a fresh table with none, each, and all of CATMAID's indexes
  const { SCORE_INDEXES } = await import("../src/db/schema.ts");
  for (const probe of [[], ...SCORE_INDEXES.map((i) => [i]), SCORE_INDEXES]) {
    await client.query(`DROP TABLE IF EXISTS probe`);
    await client.query(`CREATE TABLE probe (LIKE nblast_similarity_score)`);
    await client.query(`CHECKPOINT`).catch(() => {});
    for (const i of probe) await client.query(i.def.replace(/ON public\.nblast_similarity_score/, "ON probe").replace(/INDEX (\S+) ON/, "INDEX probe_$1 ON"));
    const t0 = performance.now();
    await client.query("BEGIN");
    const copy = await startScoreCopy(client, "probe");
    const enc = new CopyEncoder(999, undefined, 131072);
    for (const r of all) for (const c of enc.chunks({ queryId: shardIdsAsInt64(r.queryId), targetId: shardIdsAsInt64(r.targetId), score: r.score, length: r.length })) await copy.send(c);
    await copy.finish();
    await client.query("COMMIT");
    const what = probe.length === 0 ? "no index" : probe.length === 1 ? probe[0].name : "all five";
    row(`probe: one binary COPY, table with ${what}`, total, (performance.now() - t0) / 1000);
  }
  await client.query(`DROP TABLE probe`);

  // the same first rows, the other ways
  const flat = { q: [] as string[], t: [] as string[], s: [] as number[] };
  for (const r of all) {
    for (let i = 0; i < r.length && flat.q.length < slowRows; i++) flat.q.push(String(r.queryId[i])), flat.t.push(String(r.targetId[i])), flat.s.push(r.score[i]);
  }
  {
    await empty();
    const id = ++sim;
    const t0 = performance.now();
    await client.query("BEGIN");
    for (let at = 0; at < flat.q.length; at += 1000) {
      const n = Math.min(1000, flat.q.length - at);
      const params: unknown[] = [];
      const values: string[] = [];
      for (let i = 0; i < n; i++) {
        params.push(flat.q[at + i], flat.t[at + i], flat.s[at + i], id);
        values.push(`($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`);
      }
      await client.query(`INSERT INTO nblast_similarity_score (query_object_id, target_object_id, score, similarity_id) VALUES ${values.join(", ")}`, params);
    }
    await client.query("COMMIT");
    row("multi-row INSERT, 1000 rows a statement", flat.q.length, (performance.now() - t0) / 1000);
  }
  {
    await empty();
    const id = ++sim;
    const t0 = performance.now();
    for (let at = 0; at < flat.q.length; at += 100) {
      const stmts: string[] = [];
      for (let i = at; i < Math.min(at + 100, flat.q.length); i++) {
        stmts.push(
          `INSERT INTO nblast_similarity_score (similarity_id, query_object_id, target_object_id, score) VALUES (${id}, ${flat.q[i]}, ${flat.t[i]}, ${flat.s[i]}) ` +
            `ON CONFLICT (similarity_id, query_object_id, target_object_id) DO UPDATE SET score = EXCLUDED.score`,
        );
      }
      await client.query(stmts.join(";\n"));
    }
    row("CATMAID's way: INSERT ... ON CONFLICT, 100 a round trip", flat.q.length, (performance.now() - t0) / 1000);
  }
  await client.end();

  const rate = (w: string) => { const r = results.find((x) => x.what === w)!; return r.rows / r.seconds; };
  const base = rate("load --jobs 1, 131072-row chunks (default)");
  console.log(`\nload is ${(base / rate("multi-row INSERT, 1000 rows a statement")).toFixed(1)}x multi-row INSERT and ` +
    `${(base / rate("CATMAID's way: INSERT ... ON CONFLICT, 100 a round trip")).toFixed(1)}x CATMAID's INSERT ... ON CONFLICT; ` +
    `the same COPY into a table without indexes runs ${(rate("probe: one binary COPY, table with no index") / base).toFixed(1)}x faster than load`);
} finally {
  await root.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await root.end();
  await rm(dir, { recursive: true, force: true });
}
