/**
 * The loader Lambda (handlers/loader.ts re-exports `loaderHandler` as `handler`): S3
 * notifies it of each `runs/<name>/done/<K>.json` created; it loads bin K of that run
 * into every similarity the run is registered for, with the same code as `load`
 * (loadRun with bins = [K]). No worker ever holds database credentials: only this
 * function reads them, from Secrets Manager.
 *
 * A run is registered for a similarity by the first `load --run s3://... --similarity-id N`
 * (which also loads whatever is done already); until then the function has nothing to do
 * for the run's markers and says so. Loading is idempotent, so S3's at-least-once
 * notifications and Lambda's retries are harmless.
 *
 * Environment (AWS-CONTRACT.md): BUCKET, DATABASE_SECRET_ARN (the usual RDS JSON: host,
 * port, username, password, dbname), PGSSLMODE (default require). Without
 * DATABASE_SECRET_ARN it connects with DATABASE_URL or the PG* variables, as `load` does.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { S3Event } from "aws-lambda";
import * as z from "zod";
import { InputError } from "../nblast/errors.ts";
import { readManifest } from "../plan/manifest.ts";
import { openStorage } from "../storage/open.ts";
import { connect, databaseFromEnv, scrub, sslFromMode, type DbTarget } from "./connect.ts";
import { loadRun, registeredSimilarities, type BinOutcome } from "./load.ts";
import { formatBinOutcome } from "./report.ts";

const DONE_KEY = /^(.+)\/done\/(\d+)\.json$/;

const rdsSecret = z.object({
  host: z.string().min(1),
  port: z.union([z.int(), z.string().regex(/^\d+$/)]).optional(),
  username: z.string().min(1),
  password: z.string(),
  dbname: z.string().min(1).optional(),
});

export interface LoaderRecordResult {
  readonly run: string;
  readonly bin: number;
  /** One entry per registered similarity. */
  readonly loads: { similarityId: number; outcome: BinOutcome | undefined; complete: boolean }[];
  /** Why nothing was loaded, when nothing was. */
  readonly note?: string;
}

let cachedSecret: { arn: string; at: number; target: DbTarget } | undefined;
const SECRET_TTL_MS = 5 * 60 * 1000;

/** The database target from a Secrets Manager secret in RDS's JSON layout. */
export async function databaseFromSecret(arn: string, env: NodeJS.ProcessEnv = process.env, client?: SecretsManagerClient): Promise<DbTarget> {
  if (cachedSecret !== undefined && cachedSecret.arn === arn && Date.now() - cachedSecret.at < SECRET_TTL_MS && client === undefined) {
    return cachedSecret.target;
  }
  const sm = client ?? new SecretsManagerClient({});
  let text: string | undefined;
  try {
    text = (await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
  } finally {
    if (client === undefined) sm.destroy();
  }
  if (text === undefined) throw new InputError(`secret ${arn} has no SecretString`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // never echo the secret's text
    throw new InputError(`secret ${arn} is not JSON (expected host, port, username, password, dbname)`);
  }
  const parsed = rdsSecret.safeParse(raw);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.join(".") || "(top level)").join(", ");
    throw new InputError(`secret ${arn} lacks what a database login needs (${fields}; expected host, port, username, password, dbname)`);
  }
  const s = parsed.data;
  const target: DbTarget = {
    origin: `secret ${arn}`,
    config: {
      application_name: "nblast-fanout-loader",
      host: s.host,
      port: s.port === undefined ? 5432 : Number(s.port),
      user: s.username,
      password: s.password,
      database: s.dbname ?? "postgres",
      ssl: sslFromMode(env.PGSSLMODE ?? "require", "PGSSLMODE"),
    },
  };
  if (client === undefined) cachedSecret = { arn, at: Date.now(), target };
  return target;
}

/** Loads the bin of every done marker in the event. Throws (so Lambda retries) when a load fails. */
export async function loaderHandler(event: S3Event): Promise<LoaderRecordResult[]> {
  const env = process.env;
  const target = env.DATABASE_SECRET_ARN ? await databaseFromSecret(env.DATABASE_SECRET_ARN, env) : databaseFromEnv(env);
  const results: LoaderRecordResult[] = [];
  for (const record of event.Records ?? []) {
    const bucket = record.s3.bucket.name;
    // S3 event keys are URL-encoded, spaces as '+'
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
    const m = DONE_KEY.exec(key);
    if (m === null) {
      console.log(`loader: s3://${bucket}/${key} is not a done marker; ignored`);
      continue;
    }
    const runUri = `s3://${bucket}/${m[1]}`;
    const bin = Number(m[2]);
    results.push(await loadOne(runUri, bin, target));
  }
  return results;
}

async function loadOne(runUri: string, bin: number, target: DbTarget): Promise<LoaderRecordResult> {
  try {
    const run = openStorage(runUri);
    const manifest = await readManifest(run);
    const client = await connect(target);
    let registered: { similarityId: number; catmaid: boolean }[];
    try {
      registered = await registeredSimilarities(client, manifest);
    } finally {
      await client.end().catch(() => {});
    }
    if (registered.length === 0) {
      const note = `run ${runUri} is not registered for loading; \`nblast-fanout load --run ${runUri} --similarity-id N\` registers it`;
      console.log(`loader: bin ${bin}: ${note}`);
      return { run: runUri, bin, loads: [], note };
    }
    const loads: LoaderRecordResult["loads"] = [];
    for (const r of registered) {
      const s = await loadRun({ run, db: target, similarityId: r.similarityId, catmaid: r.catmaid ? true : undefined, bins: [bin], jobs: 1 });
      const outcome = s.outcomes.find((o) => o.bin === bin);
      console.log(`loader: ${runUri} similarity ${r.similarityId}: ${outcome === undefined ? `bin ${bin}: no valid done marker` : formatBinOutcome(outcome)}` +
        `; ${s.loadedBins} of ${s.bins} bins in${s.complete ? ", complete" : ""}`);
      loads.push({ similarityId: r.similarityId, outcome, complete: s.complete });
    }
    return { run: runUri, bin, loads };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const msg = scrub(e.message, target.config.password);
    throw e instanceof InputError ? new InputError(`loader: ${runUri} bin ${bin}: ${msg}`) : new Error(`loader: ${runUri} bin ${bin}: ${msg}`);
  }
}
