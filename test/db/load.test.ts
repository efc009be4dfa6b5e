/** `db init` and `load` against real Postgres: idempotent, exact, replacing, race-safe. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CopyEncoder, connect, initSchema, loadRun, scoreTableSql, startScoreCopy, type DbTarget } from "../../src/db/index.ts";
import { RowsBuilder, sortRows } from "../../src/results/rows.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { doneKey } from "../../src/worker/markers.ts";
import { runCli } from "../helpers/cli.ts";
import { expectInputError, expectedBits, syntheticRun, tableBits, writeBin } from "./fixtures.ts";
import { freshDatabase, pgServer, stopPgServer, type PgServer, type TestDatabase } from "./pg.ts";

const found = await pgServer();
const skip = "skip" in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`test/db/load.test.ts skipped: ${skip}`);

describe.skipIf(skip !== undefined)("load into a plain database", () => {
  const server = found as PgServer;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "nbf-db-load-"));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
    await stopPgServer();
  });

  async function setup(label: string): Promise<{ db: TestDatabase; target: DbTarget; run: LocalStorage }> {
    const db = await freshDatabase(server, label);
    const admin = await db.admin();
    await initSchema(admin);
    return { db, target: { config: { connectionString: db.url }, origin: "test" }, run: new LocalStorage(await mkdtemp(join(tmp, `${label}-`))) };
  }

  it("db init creates CATMAID's score table (same columns and indexes) and the ledger; a second init creates nothing", async () => {
    const db = await freshDatabase(server, "init");
    try {
      const admin = await db.admin();
      const first = await initSchema(admin);
      expect(first.created).toEqual(["public.nblast_similarity_score", "nblast_fanout (nblast_fanout.runs, nblast_fanout.bins)"]);
      expect(first.check).toMatchObject({ catmaid: false, scoreTable: "ok", missingIndexes: [], otherIndexes: [], ledger: "ok" });
      const idx = await admin.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'nblast_similarity_score' ORDER BY indexname`);
      expect(idx.rows.map((r) => r.indexdef)).toEqual([
        "CREATE INDEX nblast_similarity_score_query_id_idx ON public.nblast_similarity_score USING brin (query_object_id)",
        "CREATE INDEX nblast_similarity_score_query_object_id ON public.nblast_similarity_score USING btree (query_object_id) INCLUDE (similarity_id)",
        "CREATE INDEX nblast_similarity_score_similarity_id_idx ON public.nblast_similarity_score USING brin (similarity_id)",
        "CREATE INDEX nblast_similarity_score_target_object_id ON public.nblast_similarity_score USING btree (target_object_id) INCLUDE (similarity_id)",
        "CREATE UNIQUE INDEX nblast_similarity_score_unique_idx ON public.nblast_similarity_score USING btree (query_object_id, target_object_id, similarity_id)",
      ]);
      const cols = await admin.query(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'nblast_similarity_score' ORDER BY ordinal_position`,
      );
      expect(cols.rows).toEqual([
        { column_name: "query_object_id", data_type: "bigint", is_nullable: "NO" },
        { column_name: "target_object_id", data_type: "bigint", is_nullable: "NO" },
        { column_name: "score", data_type: "real", is_nullable: "NO" },
        { column_name: "similarity_id", data_type: "integer", is_nullable: "NO" },
      ]);
      expect((await initSchema(admin)).created).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it("db init refuses a score table that is not CATMAID's", async () => {
    const db = await freshDatabase(server, "initbad");
    try {
      const admin = await db.admin();
      await admin.query(scoreTableSql().replace("score real NOT NULL", "score double precision NOT NULL"));
      await expectInputError(initSchema(admin), /nblast_similarity_score exists but is not CATMAID's score table: column score is double precision, not real/);
    } finally {
      await db.drop();
    }
  });

  it("a run loaded twice ends with exactly the shards' rows, scores bit for bit; the second load changes nothing", async () => {
    const { db, target, run } = await setup("twice");
    try {
      const { manifest, rows } = await syntheticRun(run, { neurons: 80, bins: 6 });
      const first = await loadRun({ run, db: target, similarityId: 5 });
      expect(first.outcomes.map((o) => o.status)).toEqual(Array(6).fill("loaded"));
      expect(first).toMatchObject({ catmaid: false, bins: 6, loadedBins: 6, complete: true, pending: [] });
      const admin = await db.admin();
      const want = expectedBits(rows.values());
      expect(want.size).toBe(80 * 79);
      expect(await tableBits(admin, 5)).toEqual(want);
      const ledger1 = (await admin.query(`SELECT * FROM nblast_fanout.bins ORDER BY bin`)).rows;
      expect(ledger1.map((r) => Number(r.rows_loaded))).toEqual([...rows.values()].map((r) => r.length));
      const second = await loadRun({ run, db: target, similarityId: 5 });
      expect(second.outcomes.map((o) => o.status)).toEqual(Array(6).fill("unchanged"));
      expect(await tableBits(admin, 5)).toEqual(want);
      expect((await admin.query(`SELECT * FROM nblast_fanout.bins ORDER BY bin`)).rows).toEqual(ledger1);
      const reg = (await admin.query(`SELECT run_uri, manifest_digest, bins, catmaid, completed_at IS NOT NULL AS done FROM nblast_fanout.runs`)).rows;
      expect(reg).toEqual([{ run_uri: run.uri, manifest_digest: manifest.digest, bins: 6, catmaid: false, done: true }]);
    } finally {
      await db.drop();
    }
  });

  it("loads the done bins only, then the rest when they are done; a changed shard replaces exactly its bin's rows", async () => {
    const { db, target, run } = await setup("replace");
    try {
      const { manifest, rows } = await syntheticRun(run, { neurons: 60, bins: 5 }, [0, 2, 3]);
      const partial = await loadRun({ run, db: target, similarityId: 9 });
      expect(partial.pending).toEqual([1, 4]);
      expect(partial.complete).toBe(false);
      const admin = await db.admin();
      expect(await tableBits(admin, 9)).toEqual(expectedBits([0, 2, 3].map((b) => rows.get(b)!)));
      // the other bins finish; bin 2 is recomputed differently (fewer rows, other scores)
      const { syntheticBinRows } = await import("./fixtures.ts");
      for (const b of [1, 4]) {
        rows.set(b, syntheticBinRows(manifest, b));
        await writeBin(run, manifest, b, rows.get(b)!);
      }
      const old = rows.get(2)!;
      const changed = new RowsBuilder(false, 16);
      for (let i = 0; i < old.length; i += 2) changed.push(old.queryId[i], old.targetId[i], old.score[i] / 3);
      rows.set(2, sortRows(changed.finish()));
      await writeBin(run, manifest, 2, rows.get(2)!);
      const full = await loadRun({ run, db: target, similarityId: 9 });
      expect(full.outcomes.map((o) => [o.bin, o.status, o.status === "loaded" && o.replaced])).toEqual([
        [0, "unchanged", false], [1, "loaded", false], [2, "loaded", true], [3, "unchanged", false], [4, "loaded", false],
      ]);
      expect(full.complete).toBe(true);
      expect(await tableBits(admin, 9)).toEqual(expectedBits(rows.values()));
    } finally {
      await db.drop();
    }
  });

  for (const normalization of ["mean", "normalized"] as const) {
    it(`a run planned in space order (${normalization}): bins are id sets, and a changed shard replaces exactly its bin's rows`, async () => {
      const { db, target, run } = await setup(`space-${normalization}`);
      try {
        const { manifest, rows } = await syntheticRun(run, { neurons: 70, bins: 4, normalization, spatial: true });
        expect(manifest.work.order).toBe("space");
        expect(manifest.work.skipped!.pairs).toBeGreaterThan(0);
        await loadRun({ run, db: target, similarityId: 11 });
        const admin = await db.admin();
        expect(await tableBits(admin, 11)).toEqual(expectedBits(rows.values()));
        // bin 1 recomputed: half its rows, other scores; the other bins' rows stay as they are
        const old = rows.get(1)!;
        const changed = new RowsBuilder(false, 16);
        for (let i = 0; i < old.length; i += 2) changed.push(old.queryId[i], old.targetId[i], old.score[i] / 3);
        rows.set(1, sortRows(changed.finish()));
        await writeBin(run, manifest, 1, rows.get(1)!);
        const again = await loadRun({ run, db: target, similarityId: 11 });
        expect(again.outcomes.map((o) => o.status)).toEqual(["unchanged", "loaded", "unchanged", "unchanged"]);
        expect(await tableBits(admin, 11)).toEqual(expectedBits(rows.values()));
      } finally {
        await db.drop();
      }
    });
  }

  it("two loaders racing on the same bins never double them: each bin is loaded once, the other loader finds it unchanged", async () => {
    const { db, target, run } = await setup("race");
    try {
      const { rows } = await syntheticRun(run, { neurons: 400, bins: 3 });
      const [a, b] = await Promise.all([
        loadRun({ run, db: target, similarityId: 2, jobs: 3 }),
        loadRun({ run, db: target, similarityId: 2, jobs: 3 }),
      ]);
      for (let bin = 0; bin < 3; bin++) {
        const statuses = [a, b].map((s) => s.outcomes.find((o) => o.bin === bin)!.status).sort();
        expect(statuses).toEqual(["loaded", "unchanged"]);
      }
      const admin = await db.admin();
      expect(await tableBits(admin, 2)).toEqual(expectedBits(rows.values()));
      expect(Number((await admin.query(`SELECT count(*) AS n FROM nblast_fanout.bins`)).rows[0].n)).toBe(3);
    } finally {
      await db.drop();
    }
  });

  it("worker --load loads its bin right after the bin is done (here: already done, so skipped, then loaded)", async () => {
    const { db, run } = await setup("worker");
    try {
      const { rows } = await syntheticRun(run, { neurons: 30, bins: 3 });
      const r = runCli(["worker", "--run", run.uri, "--bin", "1", "--load", "--similarity-id", "21"], { env: { DATABASE_URL: db.url } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/bin 1: skipped, already done/);
      expect(r.stderr).toMatch(/bin 1: loaded \d+ rows in [\d.]+ s; 1 of 3 bins in the database/);
      expect(await tableBits(await db.admin(), 21)).toEqual(expectedBits([rows.get(1)!]));
      const bad = runCli(["worker", "--run", run.uri, "--bin", "1", "--load"], { env: { DATABASE_URL: db.url } });
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--load needs --similarity-id/);
    } finally {
      await db.drop();
    }
  });

  it("ids beyond 2^53 go through the encoder and COPY exactly (an int64 shard written with hyparquet-writer)", async () => {
    const { db } = await setup("bigids");
    try {
      const big = [2n ** 53n + 1n, 2n ** 62n + 12345n, 9223372036854775807n, 720575940379279360n];
      const q: bigint[] = [], t: bigint[] = [], s: number[] = [];
      for (const a of big) for (const c of big) if (a !== c) q.push(a), t.push(c), s.push(Math.fround(Number(a % 1000n) / 1000 + 0.001));
      const w = new ByteWriter();
      const pw = new ParquetWriter({
        writer: w,
        schema: [
          { name: "root", num_children: 3 },
          { name: "query_id", type: "INT64", repetition_type: "REQUIRED" },
          { name: "target_id", type: "INT64", repetition_type: "REQUIRED" },
          { name: "score", type: "FLOAT", repetition_type: "REQUIRED" },
        ],
      });
      pw.write({ columnData: [
        { name: "query_id", data: BigInt64Array.from(q) },
        { name: "target_id", data: BigInt64Array.from(t) },
        { name: "score", data: Float32Array.from(s) },
      ] });
      pw.finish();
      const file = w.getBuffer();
      // read back as the 64-bit shard reader of the ids branch will: int64 columns as BigInt
      const objs = (await parquetReadObjects({ file })) as { query_id: bigint; target_id: bigint; score: number }[];
      const cols = {
        queryId: BigInt64Array.from(objs, (o) => o.query_id),
        targetId: BigInt64Array.from(objs, (o) => o.target_id),
        score: Float32Array.from(objs, (o) => o.score),
        length: objs.length,
      };
      expect(cols.queryId[0]).toBe(2n ** 53n + 1n);
      const client = await connect({ config: { connectionString: db.url }, origin: "test" });
      try {
        await client.query("BEGIN");
        const copy = await startScoreCopy(client);
        for (const chunk of new CopyEncoder(4).chunks(cols)) await copy.send(chunk);
        expect(await copy.finish()).toBe(cols.length);
        await client.query("COMMIT");
        const back = await client.query(`SELECT query_object_id::text AS q, target_object_id::text AS t, score FROM nblast_similarity_score WHERE similarity_id = 4 ORDER BY query_object_id, target_object_id`);
        const want = q.map((x, i) => ({ q: x.toString(), t: t[i].toString(), score: s[i] })).sort((x, y) => (x.q === y.q ? (BigInt(x.t) < BigInt(y.t) ? -1 : 1) : BigInt(x.q) < BigInt(y.q) ? -1 : 1));
        expect(back.rows.map((r) => ({ ...r, score: Math.fround(r.score) }))).toEqual(want);
      } finally {
        await client.end();
      }
    } finally {
      await db.drop();
    }
  });

  // Runs once plans and shards hold 64-bit ids (the ids branch): until then the encoder test above covers them.
  it("a run whose ids lie beyond 2^53 loads exactly through `load`", async () => {
    const { db, target, run } = await setup("bigrun");
    try {
      const { rows } = await syntheticRun(run, { neurons: 25, bins: 3, firstId: 2n ** 62n + 3n, step: 2 ** 40 + 1 });
      await loadRun({ run, db: target, similarityId: 31 });
      const want = expectedBits(rows.values());
      expect([...want.keys()].every((k) => k.split("|").every((id) => BigInt(id) > 2n ** 62n))).toBe(true);
      expect(await tableBits(await db.admin(), 31)).toEqual(want);
    } finally {
      await db.drop();
    }
  });

  it("refuses a similarity that holds another run, and one with rows it did not load", async () => {
    const { db, target, run } = await setup("refuse");
    try {
      await syntheticRun(run, { neurons: 20, bins: 2 });
      await loadRun({ run, db: target, similarityId: 3 });
      const other = new LocalStorage(await mkdtemp(join(tmp, "other-")));
      await syntheticRun(other, { neurons: 21, bins: 2 });
      await expectInputError(loadRun({ run: other, db: target, similarityId: 3 }), /similarity 3 holds another run \(.*\); this run's manifest is sha256:[0-9a-f]{64}: load it into another similarity/);
      const admin = await db.admin();
      await admin.query(`INSERT INTO nblast_similarity_score VALUES (1, 2, 0.5, 4)`);
      await expectInputError(loadRun({ run: other, db: target, similarityId: 4 }), /similarity 4 already has score rows that nblast-fanout did not load/);
    } finally {
      await db.drop();
    }
  });

  it("a shard that does not match its done marker is reported and not loaded; a database without the ledger is refused", async () => {
    const { db, target, run } = await setup("stale");
    try {
      await syntheticRun(run, { neurons: 20, bins: 2 });
      const bytes = await run.get("shards/bin=1.parquet");
      bytes[bytes.length - 20] ^= 1;
      await run.put("shards/bin=1.parquet", bytes);
      const s = await loadRun({ run, db: target, similarityId: 1 });
      expect(s.outcomes[0].status).toBe("loaded");
      expect(s.outcomes[1]).toMatchObject({ bin: 1, status: "stale" });
      expect((s.outcomes[1] as { reason: string }).reason).toMatch(/shards\/bin=1\.parquet does not match done\/1\.json \(sha256 [0-9a-f]{64}\); rerun the bin/);
      expect(s.complete).toBe(false);
      await run.delete(doneKey(0));
      const bare = await freshDatabase(server, "bare");
      try {
        await expectInputError(loadRun({ run, db: { config: { connectionString: bare.url }, origin: "test" }, similarityId: 1 }), /not set up for loading \(public\.nblast_similarity_score is missing\): run `nblast-fanout db init`/);
      } finally {
        await bare.drop();
      }
    } finally {
      await db.drop();
    }
  });
});
