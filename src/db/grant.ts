/**
 * `db grant --role NAME`: what the loader needs, and nothing else.
 *
 * Loading a bin reads the ledger, deletes and inserts score rows of its similarity, and
 * writes the ledger; with CATMAID it also reads a few columns of the similarity row and
 * updates its status columns. Every table privilege below is for one of those statements;
 * UPDATE is column-level wherever it is needed at all. The score table gets no UPDATE
 * (a reload deletes and inserts) and no TRUNCATE.
 */
import pg from "pg";
import { InputError } from "../nblast/errors.ts";
import { BINS_TABLE, LEDGER_SCHEMA, RUNS_TABLE, SCORE_TABLE, SIMILARITY_TABLE, isCatmaid } from "./schema.ts";

/** Columns of CATMAID's nblast_similarity the loader reads (checks) and writes (status). */
export const SIMILARITY_READ_COLUMNS = ["id", "status", "scoring", "normalized", "use_alpha", "top_n"] as const;
export const SIMILARITY_WRITE_COLUMNS = ["status", "detailed_status", "computation_time", "query_objects", "target_objects"] as const;
const BINS_UPDATE_COLUMNS = ["shard_sha256", "shard_rows", "rows_loaded", "dropped_self", "dropped_low", "computation_seconds", "loaded_at"];

const ident = (s: string): string => pg.escapeIdentifier(s);

/** The GRANT statements, each with the reason it is there. */
export function grantStatements(database: string, role: string, catmaid: boolean): { sql: string; why: string }[] {
  const r = ident(role);
  const out = [
    { sql: `GRANT CONNECT ON DATABASE ${ident(database)} TO ${r}`, why: "log in to this database" },
    { sql: `GRANT USAGE ON SCHEMA public TO ${r}`, why: "reach the score table" },
    { sql: `GRANT USAGE ON SCHEMA ${LEDGER_SCHEMA} TO ${r}`, why: "reach the ledger" },
    { sql: `GRANT SELECT, INSERT, DELETE ON ${SCORE_TABLE} TO ${r}`, why: "replace a bin's rows: DELETE ... WHERE (needs SELECT), COPY (INSERT)" },
    { sql: `GRANT SELECT, INSERT ON ${RUNS_TABLE} TO ${r}`, why: "register the run a similarity holds" },
    { sql: `GRANT UPDATE (completed_at) ON ${RUNS_TABLE} TO ${r}`, why: "mark the run complete" },
    { sql: `GRANT SELECT, INSERT ON ${BINS_TABLE} TO ${r}`, why: "record each loaded bin" },
    { sql: `GRANT UPDATE (${BINS_UPDATE_COLUMNS.join(", ")}) ON ${BINS_TABLE} TO ${r}`, why: "record a reloaded bin" },
  ];
  if (catmaid) {
    out.push(
      { sql: `GRANT SELECT (${SIMILARITY_READ_COLUMNS.join(", ")}) ON ${SIMILARITY_TABLE} TO ${r}`, why: "check the similarity's settings against the run" },
      { sql: `GRANT UPDATE (${SIMILARITY_WRITE_COLUMNS.join(", ")}) ON ${SIMILARITY_TABLE} TO ${r}`, why: "show progress, then the finished result, in CATMAID" },
    );
  }
  return out;
}

export function revokePublicTempStatements(database: string, role: string): { sql: string; why: string }[] {
  return [
    { sql: `REVOKE TEMPORARY ON DATABASE ${ident(database)} FROM PUBLIC`, why: "PUBLIC's TEMPORARY lets every role create temporary tables" },
    { sql: `REVOKE TEMPORARY ON DATABASE ${ident(database)} FROM ${ident(role)}`, why: "and an explicit grant, if there was one" },
  ];
}

export const PUBLIC_TEMP_EXPLANATION = `About temporary tables (Postgres 15):
  Every database gives the pseudo-role PUBLIC, i.e. every role, CONNECT and TEMPORARY.
  TEMPORARY lets the writer run CREATE TEMP TABLE: such tables vanish with its session, but
  they take disk and catalog space, and grants to the writer cannot take the right away,
  because it comes from PUBLIC. --revoke-public-temp runs
      REVOKE TEMPORARY ON DATABASE <db> FROM PUBLIC
  which takes TEMPORARY from every role that had it only through PUBLIC: not from the
  database owner or superusers, not from roles granted it by name. It lists those roles
  when it runs; give one back with GRANT TEMPORARY ON DATABASE <db> TO <role>. CONNECT stays
  with PUBLIC. (The usual recipe, REVOKE ALL ON DATABASE <db> FROM PUBLIC plus GRANT CONNECT
  to the writer, also takes CONNECT from every role that relies on PUBLIC, which can lock
  CATMAID's own role out of its database; that is why only TEMPORARY is revoked here.)`;

export interface GrantReport {
  readonly database: string;
  readonly role: string;
  readonly catmaid: boolean;
  readonly statements: { sql: string; why: string }[];
  /** Login roles that could create temporary tables before --revoke-public-temp and not after. */
  readonly lostTemp: string[];
  /** What the role may still do beyond loading (from other grants, memberships or role attributes). */
  readonly warnings: string[];
}

/** Runs the grants (and the revocation) in one transaction, then checks what the role can do. */
export async function grantLoader(
  client: pg.Client,
  opts: { role: string; catmaid?: boolean; revokePublicTemp?: boolean },
): Promise<GrantReport> {
  const role = opts.role;
  const exists = await client.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role]);
  if (exists.rowCount === 0) {
    throw new InputError(
      `role ${JSON.stringify(role)} does not exist; create it first, e.g. in psql: CREATE ROLE ${ident(role)} LOGIN; then \\password ${ident(role)} ` +
        `(so that the password never appears in a command line)`,
    );
  }
  const detected = await isCatmaid(client);
  if (opts.catmaid === true && !detected) throw new InputError(`--catmaid: this database has no ${SIMILARITY_TABLE} table; it is not a CATMAID database`);
  const catmaid = detected;
  const ledger = await client.query<{ t: string | null }>(`SELECT to_regclass('${BINS_TABLE}')::text AS t`);
  if (ledger.rows[0].t === null) throw new InputError(`the ledger (${LEDGER_SCHEMA}) is not here yet: run \`nblast-fanout db init\` first`);
  const database = (await client.query<{ d: string }>(`SELECT current_database() AS d`)).rows[0].d;
  const statements = grantStatements(database, role, catmaid);
  if (opts.revokePublicTemp) statements.push(...revokePublicTempStatements(database, role));
  const tempHolders = async (): Promise<string[]> =>
    (
      await client.query<{ r: string }>(
        `SELECT rolname AS r FROM pg_roles
          WHERE rolcanlogin AND has_database_privilege(oid, current_database(), 'TEMPORARY') ORDER BY rolname`,
      )
    ).rows.map((x) => x.r);
  await client.query("BEGIN");
  let lostTemp: string[] = [];
  try {
    const before = opts.revokePublicTemp ? await tempHolders() : [];
    for (const s of statements) await client.query(s.sql);
    if (opts.revokePublicTemp) {
      const after = new Set(await tempHolders());
      lostTemp = before.filter((r) => !after.has(r) && r !== role);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
  return { database, role, catmaid, statements, lostTemp, warnings: await excessPrivileges(client, role, catmaid) };
}

/** What `role` can do beyond loading: role attributes, database and schema CREATE, TEMPORARY, other tables. */
export async function excessPrivileges(client: pg.Client, role: string, catmaid: boolean): Promise<string[]> {
  const out: string[] = [];
  const attrs = (
    await client.query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean; rolbypassrls: boolean; rolreplication: boolean }>(
      `SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = $1`,
      [role],
    )
  ).rows[0];
  for (const [k, v] of Object.entries(attrs)) if (v) out.push(`the role has ${k.replace(/^rol/, "").toUpperCase()}`);
  if (attrs.rolsuper) return out; // a superuser can do everything; nothing below adds to that
  const db = (
    await client.query<{ create: boolean; temp: boolean }>(
      `SELECT has_database_privilege($1, current_database(), 'CREATE') AS create,
              has_database_privilege($1, current_database(), 'TEMPORARY') AS temp`,
      [role],
    )
  ).rows[0];
  if (db.create) out.push("it may CREATE schemas in this database");
  if (db.temp) out.push("it may create temporary tables (PUBLIC's TEMPORARY: see --print, --revoke-public-temp)");
  const schemas = await client.query<{ s: string }>(
    `SELECT nspname AS s FROM pg_namespace
      WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
        AND has_schema_privilege($1, oid, 'CREATE') ORDER BY nspname`,
    [role],
  );
  for (const s of schemas.rows) {
    out.push(`it may create tables in schema ${s.s}${s.s === "public" ? " (a database from before Postgres 15: REVOKE CREATE ON SCHEMA public FROM PUBLIC)" : ""}`);
  }
  const allowed = new Map<string, Set<string>>([
    [SCORE_TABLE, new Set(["SELECT", "INSERT", "DELETE"])],
    [RUNS_TABLE, new Set(["SELECT", "INSERT"])],
    [BINS_TABLE, new Set(["SELECT", "INSERT"])],
  ]);
  if (catmaid) allowed.set(SIMILARITY_TABLE, new Set());
  const tables = await client.query<{ t: string; p: string[] }>(
    `SELECT c.oid::regclass::text AS t,
            ARRAY(SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p
                   WHERE has_table_privilege($1, c.oid, p)) AS p
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY 1`,
    [role],
  );
  for (const row of tables.rows) {
    const name = row.t.includes(".") ? row.t : `public.${row.t}`;
    const ok = allowed.get(name) ?? new Set<string>();
    const extra = row.p.filter((p) => !ok.has(p));
    if (extra.length > 0) out.push(`it has ${extra.join(", ")} on ${name}`);
  }
  return out;
}
