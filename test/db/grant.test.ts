/** `db grant`: the writer can load and do nothing else; PUBLIC's TEMPORARY and what revoking it takes. */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { initSchema } from "../../src/db/index.ts";
import { runCli } from "../helpers/cli.ts";
import { CATMAID_SCHEMA, applyOnlySimilarity } from "./catmaid-fixture.ts";
import { freshDatabase, pgServer, stopPgServer, type PgServer, type TestDatabase } from "./pg.ts";

const found = await pgServer();
const skip = "skip" in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`test/db/grant.test.ts skipped: ${skip}`);

async function as(db: TestDatabase, role: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.urlAs(role) });
  c.on("error", () => {});
  await c.connect();
  return c;
}

/** The statement's error code (42501: insufficient privilege), or "ok". */
async function attempt(c: pg.Client, sql: string): Promise<string> {
  try {
    await c.query(sql);
    return "ok";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe.skipIf(skip !== undefined)("db grant", () => {
  const server = found as PgServer;
  afterAll(() => stopPgServer());

  it("CATMAID: the writer is refused every other table, column and CREATE; with --revoke-public-temp also temporary tables", async () => {
    const db = await freshDatabase(server, "grant");
    try {
      const admin = await db.admin();
      await admin.query(CATMAID_SCHEMA);
      const sim = await applyOnlySimilarity(admin, { normalized: "mean", useAlpha: false });
      const writer = await db.createRole("writer");
      const bystander = await db.createRole("other");
      const env = { DATABASE_URL: db.url };
      const init = runCli(["db", "init"], { env });
      expect(init.stderr).toBe("");
      expect(init.stdout).toMatch(/database kind: CATMAID/);
      expect(init.stdout).toMatch(/created: nblast_fanout/);

      const plain = runCli(["db", "grant", "--role", writer], { env });
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stdout).toMatch(/GRANT UPDATE \(status, detailed_status, computation_time, query_objects, target_objects\) ON public\.nblast_similarity/);
      expect(plain.stdout).toMatch(/can still do more than loading needs:\n {2}it may create temporary tables/);
      let w = await as(db, writer);
      expect(await attempt(w, "CREATE TEMP TABLE t (i int)")).toBe("ok"); // PUBLIC's TEMPORARY, before the revocation
      await w.end();

      const revoke = runCli(["db", "grant", "--role", writer, "--revoke-public-temp"], { env });
      expect(revoke.status, revoke.stderr).toBe(0);
      expect(revoke.stdout).toContain(`these login roles can no longer create temporary tables here: ${bystander}`);
      expect(revoke.stdout).toContain(`${writer} can do nothing else in this database`);
      // the owner keeps it; so does a role granted TEMPORARY by name
      expect((await admin.query(`SELECT has_database_privilege('postgres', current_database(), 'TEMPORARY') AS t`)).rows[0].t).toBe(true);

      w = await as(db, writer);
      const refused: Record<string, string> = {
        "SELECT * FROM project": "",
        "SELECT * FROM auth_user": "",
        "SELECT name FROM nblast_similarity": "",
        "SELECT * FROM nblast_similarity": "",
        "UPDATE nblast_similarity SET name = 'x'": "",
        "UPDATE nblast_similarity SET scoring = NULL": "",
        "DELETE FROM nblast_similarity": "",
        "INSERT INTO nblast_similarity (user_id, project_id, name, config_id, query_type_id, target_type_id) VALUES (1, 1, 'x', 1, 'skeleton', 'skeleton')": "",
        "UPDATE nblast_similarity_score SET score = 0": "",
        "TRUNCATE nblast_similarity_score": "",
        "DELETE FROM nblast_fanout.runs": "",
        "UPDATE nblast_fanout.runs SET run_uri = 'x'": "",
        "UPDATE nblast_config SET name = 'x'": "",
        "CREATE TABLE public.mine (i int)": "",
        "CREATE TABLE nblast_fanout.mine (i int)": "",
        "CREATE SCHEMA mine": "",
        "CREATE TEMP TABLE t (i int)": "",
        "CREATE TEMPORARY VIEW v AS SELECT 1": "",
      };
      for (const sql of Object.keys(refused)) refused[sql] = await attempt(w, sql);
      expect(refused).toEqual(Object.fromEntries(Object.keys(refused).map((k) => [k, "42501"])));
      // what loading needs still works
      expect(await attempt(w, `SELECT id, status, scoring, normalized, use_alpha, top_n FROM nblast_similarity WHERE id = ${sim}`)).toBe("ok");
      expect(await attempt(w, `UPDATE nblast_similarity SET status = 'computing', detailed_status = 'x' WHERE id = ${sim}`)).toBe("ok");
      expect(await attempt(w, "DELETE FROM nblast_similarity_score WHERE similarity_id = 1 AND query_object_id BETWEEN 1 AND 2")).toBe("ok");
      await w.end();
    } finally {
      await db.drop();
    }
  });

  it("--print shows the statements and explains PUBLIC's TEMPORARY without changing anything; a missing role is a clear error", async () => {
    const db = await freshDatabase(server, "gprint");
    try {
      const env = { DATABASE_URL: db.url };
      await initSchema(await db.admin());
      const writer = await db.createRole("writer");
      const p = runCli(["db", "grant", "--role", writer, "--revoke-public-temp", "--print"], { env });
      expect(p.status, p.stderr).toBe(0);
      expect(p.stdout).toContain(`GRANT SELECT, INSERT, DELETE ON public.nblast_similarity_score TO "${writer}";`);
      expect(p.stdout).toContain(`REVOKE TEMPORARY ON DATABASE "${db.name}" FROM PUBLIC;`);
      expect(p.stdout).toMatch(/Every database gives the pseudo-role PUBLIC, i\.e\. every role, CONNECT and TEMPORARY/);
      expect(p.stdout).not.toMatch(/nblast_similarity[^_]/); // a plain database: no CATMAID grants
      const admin = await db.admin();
      const priv = await admin.query(`SELECT has_table_privilege($1, 'public.nblast_similarity_score', 'INSERT') AS i`, [writer]);
      expect(priv.rows[0].i).toBe(false);
      const missing = runCli(["db", "grant", "--role", "nobody_here"], { env });
      expect(missing.status).toBe(2);
      expect(missing.stderr).toMatch(/role "nobody_here" does not exist; create it first/);
      const initPrint = runCli(["db", "init", "--print"], { env: { DATABASE_URL: "postgres://u:p@127.0.0.1:1/none" } });
      expect(initPrint.status).toBe(0);
      expect(initPrint.stdout).toMatch(/CREATE TABLE IF NOT EXISTS public\.nblast_similarity_score/);
    } finally {
      await db.drop();
    }
  });
});
