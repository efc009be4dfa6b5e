/**
 * The loader Lambda's handler, called as Lambda calls it, on S3 events for done markers:
 * real S3 (fauxqs, in this process), real Postgres, and the database secret from Secrets
 * Manager (moto_server) or DATABASE_URL.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { S3Event } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grantLoader, initSchema, loadRun } from "../../src/db/index.ts";
import { loaderHandler } from "../../src/db/lambda.ts";
import { writeManifest } from "../../src/plan/manifest.ts";
import { S3Storage } from "../../src/storage/s3.ts";
import { startTestFauxqs, type TestFauxqs } from "../helpers/fauxqs.ts";
import { expectedBits, syntheticBinRows, syntheticManifest, tableBits, writeBin } from "./fixtures.ts";
import { freshDatabase, pgServer, stopPgServer, type PgServer, type TestDatabase } from "./pg.ts";

const found = await pgServer();
const skip = "skip" in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`test/db/lambda.test.ts skipped: ${skip}`);

function doneEvent(bucket: string, ...keys: string[]): S3Event {
  return {
    Records: keys.map((key) => ({
      eventVersion: "2.1", eventSource: "aws:s3", awsRegion: "us-east-1", eventTime: new Date().toISOString(), eventName: "ObjectCreated:Put",
      userIdentity: { principalId: "test" }, requestParameters: { sourceIPAddress: "127.0.0.1" }, responseElements: { "x-amz-request-id": "1", "x-amz-id-2": "1" },
      s3: {
        s3SchemaVersion: "1.0", configurationId: "done-markers",
        bucket: { name: bucket, ownerIdentity: { principalId: "test" }, arn: `arn:aws:s3:::${bucket}` },
        // as S3 sends keys: URL-encoded, a space as '+'
        object: { key: encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+"), size: 1, eTag: "x", sequencer: "1" },
      },
    })),
  };
}

/** moto_server for Secrets Manager on a free port, or undefined when it is not installed. */
async function startMoto(): Promise<{ endpoint: string; proc: ChildProcess } | undefined> {
  if (spawnSync("moto_server", ["--help"], { stdio: "ignore" }).status !== 0) return undefined;
  const port = 55100 + Math.floor(Math.random() * 400);
  const proc = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  proc.kill("SIGKILL");
  throw new Error("moto_server did not start");
}

describe.skipIf(skip !== undefined)("the loader Lambda", () => {
  const server = found as PgServer;
  let fx: TestFauxqs;
  let db: TestDatabase;
  let writer: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    fx = await startTestFauxqs({ buckets: ["data"] });
    Object.assign(process.env, fx.env);
    db = await freshDatabase(server, "lambda");
    const admin = await db.admin();
    await initSchema(admin);
    writer = await db.createRole("loader");
    await grantLoader(admin, { role: writer });
  });
  afterAll(async () => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await db?.drop();
    await fx?.stop();
    await stopPgServer();
  });

  it("loads the bin of each done marker into the similarity the run is registered for, with credentials from DATABASE_URL", async () => {
    const run = new S3Storage(fx.s3, "data", "runs/first run");
    const manifest = syntheticManifest({ neurons: 30, bins: 3 });
    await writeManifest(run, manifest);
    const rows = [0, 1, 2].map((b) => syntheticBinRows(manifest, b));
    await writeBin(run, manifest, 0, rows[0]);
    process.env.DATABASE_URL = db.urlAs(writer);
    delete process.env.DATABASE_SECRET_ARN;

    // before registration there is nothing to do, and the handler says why
    const early = await loaderHandler(doneEvent("data", "runs/first run/done/0.json"));
    expect(early).toEqual([{ run: "s3://data/runs/first run", bin: 0, loads: [], note: expect.stringMatching(/is not registered for loading; `nblast-fanout load --run s3:\/\/data\/runs\/first run --similarity-id N` registers it/) }]);

    await loadRun({ run, db: { config: { connectionString: db.urlAs(writer) }, origin: "test" }, similarityId: 11 });
    for (const b of [1, 2]) await writeBin(run, manifest, b, rows[b]);
    const res = await loaderHandler(doneEvent("data", "runs/first run/done/1.json", "runs/first run/shards/bin=1.parquet", "runs/first run/done/2.json"));
    expect(res.map((r) => [r.bin, r.loads.map((l) => [l.similarityId, l.outcome?.status, l.complete])])).toEqual([
      [1, [[11, "loaded", false]]],
      [2, [[11, "loaded", true]]],
    ]);
    // S3 delivers at least once: the same event again changes nothing
    const again = await loaderHandler(doneEvent("data", "runs/first run/done/2.json"));
    expect(again[0].loads[0].outcome?.status).toBe("unchanged");
    const admin = await db.admin();
    expect(await tableBits(admin, 11)).toEqual(expectedBits(rows));
  });

  it("reads the database login from a Secrets Manager secret (RDS layout)", async () => {
    const moto = await startMoto();
    if (moto === undefined) {
      if (process.env.CI === "true") throw new Error("CI=true and moto_server is not installed");
      console.warn("test/db/lambda.test.ts: Secrets Manager case skipped: moto_server is not installed");
      return;
    }
    try {
      const u = new URL(db.urlAs(writer));
      const sm = new SecretsManagerClient({ endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
      const secret = await sm.send(new CreateSecretCommand({
        Name: "nblast-db",
        SecretString: JSON.stringify({ engine: "postgres", host: u.hostname, port: Number(u.port), username: writer, password: decodeURIComponent(u.password), dbname: db.name }),
      }));
      sm.destroy();
      delete process.env.DATABASE_URL;
      process.env.DATABASE_SECRET_ARN = secret.ARN!;
      process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = moto.endpoint;
      process.env.PGSSLMODE = "disable"; // the test server has no TLS; the contract's default is require
      const run = new S3Storage(fx.s3, "data", "runs/second");
      const manifest = syntheticManifest({ neurons: 12, bins: 2, seed: 2 });
      await writeManifest(run, manifest);
      const rows = [0, 1].map((b) => syntheticBinRows(manifest, b, 2));
      await writeBin(run, manifest, 0, rows[0]);
      await loadRun({ run, db: { config: { connectionString: db.urlAs(writer) }, origin: "test" }, similarityId: 12 });
      await writeBin(run, manifest, 1, rows[1]);
      const res = await loaderHandler(doneEvent("data", "runs/second/done/1.json"));
      expect(res[0].loads).toEqual([{ similarityId: 12, outcome: expect.objectContaining({ status: "loaded" }), complete: true }]);
      expect(await tableBits(await db.admin(), 12)).toEqual(expectedBits(rows));
    } finally {
      moto.proc.kill("SIGKILL");
    }
  });
});
