/**
 * Where the database is and how to log in, from the environment only: DATABASE_URL (a
 * postgres:// connection string, parsed by pg-connection-string, `sslmode` honoured), or
 * else the standard PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE,
 * PGSSLMODE, and ~/.pgpass), which pg reads itself; on AWS, the loader Lambda builds the
 * same from its Secrets Manager secret (lambda.ts).
 *
 * There is deliberately no command-line option for a URL or a password: argv is visible
 * to every user of the machine (ps, /proc, Slurm's job records). The password is never
 * printed: messages name `user@host:port/database`, and any error text is scrubbed of the
 * password (plain and URL-encoded) before it is shown.
 */
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { InputError } from "../nblast/errors.ts";

export interface DbTarget {
  /** What pg.Client takes; holds the password when one is given (never print it). */
  readonly config: pg.ClientConfig;
  /** Where the credentials came from, for messages ("DATABASE_URL", "PG* variables", a secret's ARN). */
  readonly origin: string;
}

const APPLICATION_NAME = "nblast-fanout";

/** The database named by DATABASE_URL, or else by the PG* variables. */
export function databaseFromEnv(env: NodeJS.ProcessEnv = process.env): DbTarget {
  const url = env.DATABASE_URL;
  if (url !== undefined && url.trim() !== "") {
    let config: pg.ClientConfig;
    try {
      config = parseIntoClientConfig(url) as pg.ClientConfig;
    } catch (err) {
      // the parser's message may quote the string, password and all
      throw new InputError(`DATABASE_URL is not a valid postgres:// connection string (${scrub((err as Error).message, passwordOf(url))})`);
    }
    return { config: { application_name: APPLICATION_NAME, ...withoutEmpty(config) }, origin: "DATABASE_URL" };
  }
  // pg reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE itself when they are
  // not in the config; naming them here keeps one code path for messages and redaction.
  const config: pg.ClientConfig = { application_name: APPLICATION_NAME };
  if (env.PGHOST) config.host = env.PGHOST;
  if (env.PGPORT) {
    const port = Number(env.PGPORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InputError(`PGPORT is not a port number: ${JSON.stringify(env.PGPORT)}`);
    config.port = port;
  }
  if (env.PGUSER) config.user = env.PGUSER;
  if (env.PGPASSWORD) config.password = env.PGPASSWORD;
  if (env.PGDATABASE) config.database = env.PGDATABASE;
  if (env.PGSSLMODE) config.ssl = sslFromMode(env.PGSSLMODE, "PGSSLMODE");
  return { config, origin: "PG* variables" };
}

/**
 * pg's reading of a libpq sslmode: disable: no TLS; no-verify: TLS without checking the
 * certificate; prefer, require, verify-ca, verify-full: TLS with the certificate checked
 * against the trusted CAs (pg treats all four as verify-full; RDS needs its CA bundle,
 * e.g. NODE_EXTRA_CA_CERTS). allow: as prefer.
 */
export function sslFromMode(mode: string, what: string): pg.ClientConfig["ssl"] {
  switch (mode) {
    case "disable":
      return false;
    case "no-verify":
      return { rejectUnauthorized: false };
    case "allow":
    case "prefer":
    case "require":
    case "verify-ca":
    case "verify-full":
      return true;
    default:
      throw new InputError(`${what} must be one of disable, allow, prefer, require, verify-ca, verify-full, no-verify; got ${JSON.stringify(mode)}`);
  }
}

function withoutEmpty(c: pg.ClientConfig): pg.ClientConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out as pg.ClientConfig;
}

function passwordOf(url: string): string | undefined {
  const m = /^[a-z]+:\/\/[^:@/]*:([^@/]*)@/i.exec(url);
  return m?.[1];
}

/** `text` with every occurrence of the password (as given and URL-encoded) replaced by "***". */
export function scrub(text: string, password: string | undefined | (() => string | Promise<string>)): string {
  if (typeof password !== "string" || password === "") return text;
  let out = text;
  for (const form of new Set([password, encodeURIComponent(password), safeDecode(password)])) {
    if (form.length > 0) out = out.split(form).join("***");
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** "user@host:port/database" as the client resolved it (pg fills in the PG* defaults). */
export function describeClient(client: pg.Client): string {
  const c = client as unknown as { user?: string; host?: string; port?: number; database?: string };
  return `${c.user ?? "?"}@${c.host ?? "?"}:${c.port ?? "?"}/${c.database ?? "?"}`;
}

/** Thrown for a database that cannot be reached or refuses us; the message holds no secret. */
export class DatabaseError extends InputError {}

/**
 * A connected client. Connection failures become a DatabaseError naming where and why
 * (never the password). The client gets an 'error' listener, so a server that drops the
 * connection while idle surfaces on the next query instead of crashing the process.
 */
export async function connect(target: DbTarget): Promise<pg.Client> {
  const client = new pg.Client(target.config);
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    const e = err as Error & { code?: string };
    const why = scrub(e.message || e.code || String(err), target.config.password);
    throw new DatabaseError(`cannot connect to Postgres as ${describeClient(client)} (from ${target.origin}): ${why}`);
  }
  return client;
}

/** A pg error of a query, with what the user can do about it, scrubbed of the password. */
export function explainQueryError(err: unknown, target: DbTarget, doing: string): Error {
  const e = err as Error & { code?: string };
  if (!(e instanceof Error)) return new Error(String(err));
  const msg = scrub(e.message, target.config.password);
  if (e.code === "42501") {
    return new DatabaseError(`${doing}: ${msg} (the database owner gives the loader what it needs with \`nblast-fanout db grant --role ROLE\`)`);
  }
  if (e.code === "3D000" || e.code === "28P01" || e.code === "28000" || e.code === "57P01" || e.code === "08006") {
    return new DatabaseError(`${doing}: ${msg}`);
  }
  if (msg === e.message) return e;
  const out = new Error(`${doing}: ${msg}`);
  (out as { code?: string }).code = e.code;
  return out;
}
