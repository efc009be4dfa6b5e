/**
 * The database password never shows: not in messages (a refused login, a malformed
 * DATABASE_URL, a server that echoes it), not in the run folder. sslmode is honoured.
 *
 * The refused login is a real exchange of Postgres' wire protocol with a small server
 * here that asks for the password in clear text (as a `password` pg_hba line does),
 * records it, and answers as Postgres does when it is wrong.
 */
import { spawn } from "node:child_process";
import { readdir, readFile, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, databaseFromEnv, initSchema } from "../../src/db/index.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { runCli } from "../helpers/cli.ts";
import { syntheticRun } from "./fixtures.ts";
import { freshDatabase, pgServer, stopPgServer, type PgServer } from "./pg.ts";

const PASSWORD = "S3cr!t pw/with:@chars";
const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** The CLI in a child process without blocking this one (the fake server below runs here). */
function runCliAsync(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** A server that asks for a clear-text password and refuses it; `echo` puts it in the error message too. */
async function refusingServer(echo: boolean): Promise<{ port: number; received: string[]; close: () => Promise<void> }> {
  const received: string[] = [];
  const server: Server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    let started = false;
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (!started) {
        if (buf.length < 4 || buf.length < buf.readInt32BE(0)) return;
        buf = buf.subarray(buf.readInt32BE(0));
        started = true;
        sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
        return;
      }
      if (buf.length < 5 || buf[0] !== 0x70 || buf.length < 1 + buf.readInt32BE(1)) return;
      const pw = buf.subarray(5, 1 + buf.readInt32BE(1) - 1).toString("utf8");
      received.push(pw);
      const msg = `password authentication failed for user "writer"${echo ? ` (got ${pw})` : ""}`;
      const fields = Buffer.concat([
        Buffer.from("SFATAL\0VFATAL\0C28P01\0"),
        Buffer.from(`M${msg}\0`),
        Buffer.from("\0"),
      ]);
      const head = Buffer.alloc(5);
      head[0] = 0x45;
      head.writeInt32BE(4 + fields.length, 1);
      sock.end(Buffer.concat([head, fields]));
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { port, received, close: () => new Promise((r) => server.close(() => r())) };
}

describe("database credentials", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "nbf-db-cred-"));
    await syntheticRun(new LocalStorage(dir), { neurons: 10, bins: 2 });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a refused login names user, host, port and database, and never the password (DATABASE_URL, PGPASSWORD, an echoing server)", { timeout: 60_000 }, async () => {
    for (const echo of [false, true]) {
      const srv = await refusingServer(echo);
      try {
        const url = `postgres://writer:${encodeURIComponent(PASSWORD)}@127.0.0.1:${srv.port}/catmaid`;
        const [viaUrl, viaPg] = await Promise.all([
          runCliAsync(["load", "--run", dir, "--similarity-id", "3"], { DATABASE_URL: url }),
          runCliAsync(["load", "--run", dir, "--similarity-id", "3"], {
            DATABASE_URL: "", PGHOST: "127.0.0.1", PGPORT: String(srv.port), PGUSER: "writer", PGPASSWORD: PASSWORD, PGDATABASE: "catmaid",
          }),
        ]);
        // the password did reach the server, unchanged, from both
        expect(srv.received.length).toBeGreaterThanOrEqual(2);
        expect(new Set(srv.received)).toEqual(new Set([PASSWORD]));
        for (const [r, origin] of [[viaUrl, "DATABASE_URL"], [viaPg, "PG\\* variables"]] as const) {
          expect(r.status).toBe(2);
          expect(r.stderr).toMatch(new RegExp(`cannot connect to Postgres as writer@127\\.0\\.0\\.1:${srv.port}/catmaid \\(from ${origin}\\): password authentication failed for user "writer"`));
          for (const form of [PASSWORD, encodeURIComponent(PASSWORD), "S3cr"]) {
            expect(r.stderr).not.toContain(form);
            expect(r.stdout).not.toContain(form);
          }
          if (echo) expect(r.stderr).toContain("(got ***)");
        }
      } finally {
        await srv.close();
      }
    }
  });

  it("a malformed DATABASE_URL is a clear error without its password", () => {
    const r = runCli(["load", "--run", dir, "--similarity-id", "3"], { env: { DATABASE_URL: `postgres://writer:${encodeURIComponent(PASSWORD)}@127.0.0.1:notaport/db` } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/DATABASE_URL is not a valid postgres:\/\/ connection string/);
    expect(r.stderr).not.toContain("S3cr");
  });

  it("reads sslmode from DATABASE_URL and PGSSLMODE", () => {
    expect(databaseFromEnv({ DATABASE_URL: "postgres://u@h/db?sslmode=disable" }).config.ssl).toBe(false);
    expect(databaseFromEnv({ DATABASE_URL: "postgres://u@h/db?sslmode=no-verify" }).config.ssl).toMatchObject({ rejectUnauthorized: false });
    expect(databaseFromEnv({ DATABASE_URL: "postgres://u@h/db?sslmode=verify-full" }).config.ssl).toBeTruthy();
    expect(databaseFromEnv({ PGHOST: "h", PGSSLMODE: "require" }).config.ssl).toBe(true);
    expect(databaseFromEnv({ PGHOST: "h", PGSSLMODE: "disable" }).config.ssl).toBe(false);
    expect(() => databaseFromEnv({ PGSSLMODE: "sometimes" })).toThrow(/PGSSLMODE must be one of disable, allow, prefer, require, verify-ca, verify-full, no-verify/);
  });
});

const found = await pgServer();
const skip = "skip" in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`test/db/credentials.test.ts (real server part) skipped: ${skip}`);

describe.skipIf(skip !== undefined)("database credentials against the real server", () => {
  const server = found as PgServer;
  afterAll(() => stopPgServer());

  it("sslmode=require is refused by a server without TLS; a load writes nothing into the run folder", async () => {
    const db = await freshDatabase(server, "cred");
    const dir = await mkdtemp(join(tmpdir(), "nbf-db-cred2-"));
    try {
      const u = new URL(db.url);
      u.searchParams.set("sslmode", "require");
      const refused = await connect(databaseFromEnv({ DATABASE_URL: u.toString() })).then(
        (c) => c.end().then(() => "connected"),
        (e: Error) => e.message,
      );
      const admin = await db.admin();
      const ssl = (await admin.query("SHOW ssl")).rows[0].ssl;
      // the machine's test server has no TLS, so sslmode=require must fail; one with TLS must have been asked for it
      if (ssl === "off") expect(refused).toMatch(/cannot connect to Postgres as .*\(from DATABASE_URL\): The server does not support SSL connections/);
      else expect(refused).toBe("connected");
      await initSchema(admin);
      const writer = await db.createRole("w");
      await admin.query(`GRANT CONNECT ON DATABASE ${db.name} TO ${writer}; GRANT USAGE ON SCHEMA nblast_fanout TO ${writer};
        GRANT SELECT, INSERT, DELETE ON nblast_similarity_score TO ${writer}; GRANT SELECT, INSERT, UPDATE ON nblast_fanout.runs, nblast_fanout.bins TO ${writer}`);
      const run = new LocalStorage(dir);
      await syntheticRun(run, { neurons: 12, bins: 2 });
      const before = (await readdir(dir, { recursive: true })).sort();
      const url = new URL(db.urlAs(writer));
      const password = decodeURIComponent(url.password);
      const r = runCli(["load", "--run", dir, "--similarity-id", "8"], {
        env: { DATABASE_URL: "", PGHOST: url.hostname, PGPORT: url.port, PGUSER: writer, PGPASSWORD: password, PGDATABASE: db.name },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/similarity 8: 2 of 2 bins in the database/);
      expect(r.stdout + r.stderr).not.toContain(password);
      const after = (await readdir(dir, { recursive: true })).sort();
      expect(after).toEqual(before);
      for (const f of after) {
        const p = join(dir, f);
        const text = await readFile(p).catch(() => undefined);
        if (text !== undefined) expect(text.includes(password), f).toBe(false);
      }
    } finally {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
