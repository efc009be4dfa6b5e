/**
 * The tables the loader writes.
 *
 * - public.nblast_similarity_score: CATMAID's relational result table (migration 0121 of
 *   its branch features/nblast-large-objects, indexes of 0122), exactly: four columns, a
 *   UNIQUE index on (query_object_id, target_object_id, similarity_id), BRIN indexes on
 *   similarity_id and query_object_id, btree indexes on (query_object_id) INCLUDE
 *   (similarity_id) and (target_object_id) INCLUDE (similarity_id), with CATMAID's index
 *   names. In a CATMAID database it is CATMAID's and is used as it stands; in a plain
 *   database `db init` creates it.
 * - nblast_fanout.runs / nblast_fanout.bins: this tool's ledger, in its own schema: which
 *   run a similarity holds, and per bin the shard's sha256, its rows and what was loaded.
 */
import type pg from "pg";
import { InputError } from "../nblast/errors.ts";

export const SCORE_TABLE = "public.nblast_similarity_score";
export const SIMILARITY_TABLE = "public.nblast_similarity";
export const LEDGER_SCHEMA = "nblast_fanout";
export const RUNS_TABLE = `${LEDGER_SCHEMA}.runs`;
export const BINS_TABLE = `${LEDGER_SCHEMA}.bins`;

export const SCORE_COLUMNS = [
  { name: "query_object_id", type: "bigint" },
  { name: "target_object_id", type: "bigint" },
  { name: "score", type: "real" },
  { name: "similarity_id", type: "integer" },
] as const;

/** CATMAID's index names and definitions (as pg_get_indexdef prints them). */
export const SCORE_INDEXES = [
  { name: "nblast_similarity_score_unique_idx", def: "CREATE UNIQUE INDEX nblast_similarity_score_unique_idx ON public.nblast_similarity_score USING btree (query_object_id, target_object_id, similarity_id)" },
  { name: "nblast_similarity_score_similarity_id_idx", def: "CREATE INDEX nblast_similarity_score_similarity_id_idx ON public.nblast_similarity_score USING brin (similarity_id)" },
  { name: "nblast_similarity_score_query_id_idx", def: "CREATE INDEX nblast_similarity_score_query_id_idx ON public.nblast_similarity_score USING brin (query_object_id)" },
  { name: "nblast_similarity_score_query_object_id", def: "CREATE INDEX nblast_similarity_score_query_object_id ON public.nblast_similarity_score USING btree (query_object_id) INCLUDE (similarity_id)" },
  { name: "nblast_similarity_score_target_object_id", def: "CREATE INDEX nblast_similarity_score_target_object_id ON public.nblast_similarity_score USING btree (target_object_id) INCLUDE (similarity_id)" },
] as const;

/** The score table for a plain database (CATMAID's migration 0121 + 0122, same names). */
export function scoreTableSql(): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${SCORE_TABLE} (`,
    `    query_object_id bigint NOT NULL,`,
    `    target_object_id bigint NOT NULL,`,
    `    score real NOT NULL,`,
    `    similarity_id int NOT NULL`,
    `);`,
    ...SCORE_INDEXES.map((i) => i.def.replace(/^CREATE (UNIQUE )?INDEX /, "CREATE $1INDEX IF NOT EXISTS ") + ";"),
  ].join("\n");
}

/** The ledger: its own schema, two tables. */
export function ledgerSql(): string {
  return `CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA};
COMMENT ON SCHEMA ${LEDGER_SCHEMA} IS 'nblast-fanout: which run each similarity holds, and which shard of each bin is loaded';
CREATE TABLE IF NOT EXISTS ${RUNS_TABLE} (
    similarity_id int PRIMARY KEY,
    run_uri text NOT NULL,
    manifest_digest text NOT NULL,
    bins int NOT NULL CHECK (bins > 0),
    catmaid boolean NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE TABLE IF NOT EXISTS ${BINS_TABLE} (
    similarity_id int NOT NULL REFERENCES ${RUNS_TABLE} (similarity_id) ON DELETE CASCADE,
    bin int NOT NULL CHECK (bin >= 0),
    shard_sha256 text NOT NULL CHECK (shard_sha256 ~ '^[0-9a-f]{64}$'),
    shard_rows bigint NOT NULL,
    rows_loaded bigint NOT NULL,
    dropped_self bigint NOT NULL,
    dropped_low bigint NOT NULL,
    computation_seconds double precision NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (similarity_id, bin)
);`;
}

/** Whether the database is CATMAID's: it has CATMAID's nblast_similarity table. */
export async function isCatmaid(client: pg.Client): Promise<boolean> {
  const r = await client.query<{ t: string | null }>(`SELECT to_regclass('${SIMILARITY_TABLE}')::text AS t`);
  return r.rows[0].t !== null;
}

export interface SchemaCheck {
  readonly catmaid: boolean;
  readonly scoreTable: "absent" | "ok" | "different";
  /** What differs from CATMAID's definition (columns are fatal, indexes are not). */
  readonly columnProblems: string[];
  readonly missingIndexes: string[];
  readonly otherIndexes: string[];
  readonly ledger: "absent" | "ok" | "partial";
  readonly ledgerRuns: number;
}

/** Reads what is there, changing nothing. */
export async function checkSchema(client: pg.Client): Promise<SchemaCheck> {
  const catmaid = await isCatmaid(client);
  const cols = await client.query<{ name: string; type: string; notnull: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass('${SCORE_TABLE}') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
  );
  let scoreTable: SchemaCheck["scoreTable"] = "absent";
  const columnProblems: string[] = [];
  const missingIndexes: string[] = [];
  const otherIndexes: string[] = [];
  if (cols.rows.length > 0) {
    const have = new Map(cols.rows.map((c) => [c.name, c]));
    for (const want of SCORE_COLUMNS) {
      const c = have.get(want.name);
      if (c === undefined) columnProblems.push(`column ${want.name} is missing`);
      else if (c.type !== want.type) columnProblems.push(`column ${want.name} is ${c.type}, not ${want.type}`);
      else if (!c.notnull) columnProblems.push(`column ${want.name} allows NULL`);
    }
    for (const c of cols.rows) {
      if (!SCORE_COLUMNS.some((w) => w.name === c.name) && c.notnull) columnProblems.push(`extra NOT NULL column ${c.name}`);
    }
    const idx = await client.query<{ name: string; def: string }>(
      `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def
         FROM pg_index WHERE indrelid = to_regclass('${SCORE_TABLE}')`,
    );
    const defs = new Set(idx.rows.map((r) => normalizeIndexDef(r.def)));
    for (const want of SCORE_INDEXES) if (!defs.has(normalizeIndexDef(want.def))) missingIndexes.push(want.def);
    const wanted = new Set(SCORE_INDEXES.map((w) => normalizeIndexDef(w.def)));
    for (const r of idx.rows) if (!wanted.has(normalizeIndexDef(r.def))) otherIndexes.push(r.def);
    scoreTable = columnProblems.length === 0 ? "ok" : "different";
  }
  const ledgerTables = await client.query<{ runs: string | null; bins: string | null }>(
    `SELECT to_regclass('${RUNS_TABLE}')::text AS runs, to_regclass('${BINS_TABLE}')::text AS bins`,
  );
  const { runs, bins } = ledgerTables.rows[0];
  const ledger = runs !== null && bins !== null ? "ok" : runs === null && bins === null ? "absent" : "partial";
  let ledgerRuns = 0;
  if (ledger === "ok") {
    const n = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${RUNS_TABLE}`).catch(() => ({ rows: [{ n: "0" }] }));
    ledgerRuns = Number(n.rows[0].n);
  }
  return { catmaid, scoreTable, columnProblems, missingIndexes, otherIndexes, ledger, ledgerRuns };
}

/** Index definitions compared without the index's own name (CATMAID's may differ on older installs). */
function normalizeIndexDef(def: string): string {
  return def.replace(/^CREATE (UNIQUE )?INDEX \S+ ON /, "CREATE $1INDEX ON ").replace(/\s+/g, " ").trim();
}

export interface InitResult {
  readonly check: SchemaCheck;
  /** What was executed (empty when everything was there already). */
  readonly created: string[];
}

/** The SQL `db init` runs for this kind of database. */
export function initSql(catmaid: boolean): string {
  return catmaid ? ledgerSql() : `${scoreTableSql()}\n${ledgerSql()}`;
}

/**
 * Creates what is missing, in one transaction, and checks the result. A CATMAID
 * database's score table is CATMAID's: it must be there (branch features/nblast-large-objects,
 * migration 0121) and is never created or altered here; only the ledger is added.
 */
export async function initSchema(client: pg.Client, opts: { catmaid?: boolean } = {}): Promise<InitResult> {
  const before = await checkSchema(client);
  if (opts.catmaid === true && !before.catmaid) {
    throw new InputError(`--catmaid: this database has no ${SIMILARITY_TABLE} table; it is not a CATMAID database`);
  }
  const catmaid = before.catmaid;
  if (before.scoreTable === "different") {
    throw new InputError(`${SCORE_TABLE} exists but is not CATMAID's score table: ${before.columnProblems.join("; ")}`);
  }
  if (catmaid && before.scoreTable === "absent") {
    throw new InputError(
      `this CATMAID database has no ${SCORE_TABLE} table: relational NBLAST results need CATMAID's migration 0121 ` +
        `(branch features/nblast-large-objects); migrate CATMAID first`,
    );
  }
  const created: string[] = [];
  if (before.ledger !== "ok" || (!catmaid && (before.scoreTable === "absent" || before.missingIndexes.length > 0))) {
    const sql = initSql(catmaid);
    await client.query("BEGIN");
    try {
      await client.query(sql);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
    if (!catmaid && before.scoreTable === "absent") created.push(SCORE_TABLE);
    else if (!catmaid) created.push(...before.missingIndexes.map((d) => d.replace(/^CREATE (UNIQUE )?INDEX (\S+).*/, "index $2")));
    if (before.ledger !== "ok") created.push(`${LEDGER_SCHEMA} (${RUNS_TABLE}, ${BINS_TABLE})`);
  }
  return { check: await checkSchema(client), created };
}
