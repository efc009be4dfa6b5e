/**
 * The CATMAID flow end to end: a CATMAID-shaped database, a similarity made with "Apply
 * only (don't run)", the local engine's run of real neurons, `load --catmaid` as the
 * least-privileged writer; then the similarity is complete and CATMAID's widget query
 * returns the engine's scores (CATMAID's storage rule applied, missing pairs as 0).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runLocal } from "../../src/backends/local/index.ts";
import { grantLoader, initSchema, loadRun } from "../../src/db/index.ts";
import { readManifest } from "../../src/plan/manifest.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { runCli } from "../helpers/cli.ts";
import { buildTestCache, mergedRows, planRun } from "../worker/helpers.ts";
import { CATMAID_SCHEMA, applyOnlySimilarity, widgetMatrix } from "./catmaid-fixture.ts";
import { expectInputError } from "./fixtures.ts";
import { freshDatabase, pgServer, stopPgServer, type PgServer } from "./pg.ts";

const found = await pgServer();
const skip = "skip" in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`test/db/catmaid.test.ts skipped: ${skip}`);

describe.skipIf(skip !== undefined)("load --catmaid", () => {
  const server = found as PgServer;
  afterAll(() => stopPgServer());

  it("completes an 'Apply only' similarity with the run's objects, and CATMAID's widget query returns the engine's scores", async () => {
    const db = await freshDatabase(server, "catmaid");
    const dir = await mkdtemp(join(tmpdir(), "nbf-db-catmaid-"));
    try {
      const admin = await db.admin();
      await admin.query(CATMAID_SCHEMA);
      const sim = await applyOnlySimilarity(admin, { normalized: "mean", useAlpha: false });
      // a similarity with other settings is refused before anything is written
      const wrong = await applyOnlySimilarity(admin, { normalized: "geometric-mean", useAlpha: false, name: "Task 2" });

      // the local engine: 8 real neurons, all-by-all, mean, self pairs and every score kept
      const cache = await buildTestCache(new LocalStorage(join(dir, "cache")), 8);
      const run = new LocalStorage(join(dir, "run"));
      await planRun(run, cache, { bins: 3, normalization: "mean", keepSelf: true });
      const done = await runLocal({ run, threads: 2 });
      expect(done.failed).toEqual([]);
      const manifest = await readManifest(run);
      const rows = await mergedRows(run);

      await initSchema(admin);
      const writer = await db.createRole("loader");
      await grantLoader(admin, { role: writer, revokePublicTemp: true });
      await expectInputError(
        loadRun({ run, db: { config: { connectionString: db.urlAs(writer) }, origin: "test" }, similarityId: wrong }),
        new RegExp(`similarity ${wrong} does not describe this run: normalized is geometric-mean, the run used mean`),
      );

      const out = runCli(["load", "--run", run.uri, "--similarity-id", String(sim), "--catmaid"], { env: { DATABASE_URL: db.urlAs(writer) } });
      expect(out.status, out.stderr).toBe(0);
      const selfPairs = 8;
      const low = Array.from(rows.score).filter((s, i) => rows.queryId[i] !== rows.targetId[i] && !(s > 0.01)).length;
      expect(low).toBeGreaterThan(0);
      const droppedLow = [...out.stdout.matchAll(/dropped (\d+) scores at or below 0\.01 and (\d+) self pairs/g)];
      expect(droppedLow.reduce((a, m) => a + Number(m[1]), 0)).toBe(low);
      expect(droppedLow.reduce((a, m) => a + Number(m[2]), 0)).toBe(selfPairs);
      expect(out.stdout).toMatch(new RegExp(`similarity ${sim}: 3 of 3 bins in the database`));
      expect(out.stdout).toMatch(new RegExp(`CATMAID: similarity ${sim} is complete`));

      const row = (await admin.query(`SELECT * FROM nblast_similarity WHERE id = $1`, [sim])).rows[0];
      const ids = Array.from(manifest.work.queries, (x) => String(x));
      expect(row).toMatchObject({ status: "complete", scoring: null, query_objects: ids, target_objects: ids, normalized: "mean", name: "Task 1" });
      expect(row.detailed_status).toMatch(/^Computed scoring for 8 query skeletons vs 8 target skeletons/);
      const markers = await Promise.all([0, 1, 2].map(async (b) => JSON.parse(new TextDecoder().decode(await run.get(`done/${b}.json`)))));
      expect(Math.fround(row.computation_time)).toBe(Math.fround(markers.reduce((a, m) => a + m.timings.total, 0)));

      // CATMAID's read: the full matrix in object-list order, missing pairs 0
      const matrix = await widgetMatrix(admin, sim);
      const score = new Map<string, number>();
      for (let i = 0; i < rows.length; i++) score.set(`${rows.queryId[i]}|${rows.targetId[i]}`, rows.score[i]);
      const want = Array.from(manifest.work.queries, (q) =>
        Array.from(manifest.work.queries, (t) => {
          const s = score.get(`${q}|${t}`)!;
          return q === t || !(s > 0.01) ? 0 : s;
        }),
      );
      expect(matrix!.map((r) => r.map((x) => Math.fround(x)))).toEqual(want);
      expect(want.flat().filter((x) => x > 0).length).toBe(rows.length - selfPairs - low);

      // loading again changes nothing, the similarity row included
      const before = (await admin.query(`SELECT xmin::text AS v FROM nblast_similarity WHERE id = $1`, [sim])).rows[0].v;
      const again = await loadRun({ run, db: { config: { connectionString: db.urlAs(writer) }, origin: "test" }, similarityId: sim, catmaid: true });
      expect(again.outcomes.map((o) => o.status)).toEqual(["unchanged", "unchanged", "unchanged"]);
      expect((await admin.query(`SELECT xmin::text AS v FROM nblast_similarity WHERE id = $1`, [sim])).rows[0].v).toBe(before);
    } finally {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses --catmaid on a plain database and a similarity that already holds a matrix", async () => {
    const db = await freshDatabase(server, "catno");
    const dir = await mkdtemp(join(tmpdir(), "nbf-db-catno-"));
    try {
      const admin = await db.admin();
      await initSchema(admin);
      const { syntheticRun } = await import("./fixtures.ts");
      const run = new LocalStorage(dir);
      await syntheticRun(run, { neurons: 10, bins: 1 });
      const target = { config: { connectionString: db.url }, origin: "test" };
      await expectInputError(loadRun({ run, db: target, similarityId: 1, catmaid: true }), /--catmaid: this database has no public\.nblast_similarity table/);
      const cat = await freshDatabase(server, "catlo");
      try {
        const c = await cat.admin();
        await c.query(CATMAID_SCHEMA);
        await initSchema(c);
        const sim = await applyOnlySimilarity(c, { normalized: "mean", useAlpha: false });
        await c.query(`UPDATE nblast_similarity SET scoring = lo_from_bytea(0, '\\x00000000') WHERE id = $1`, [sim]);
        await expectInputError(
          loadRun({ run, db: { config: { connectionString: cat.url }, origin: "test" }, similarityId: sim }),
          new RegExp(`similarity ${sim} already holds a matrix result \\(scoring large object \\d+\\); create a new similarity`),
        );
        await expectInputError(
          loadRun({ run, db: { config: { connectionString: cat.url }, origin: "test" }, similarityId: 999 }),
          /similarity 999 is not in public\.nblast_similarity: create it in CATMAID's Neuron Similarity widget with "Apply only \(don't run\)"/,
        );
      } finally {
        await cat.drop();
      }
    } finally {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
