/**
 * `load`: every verified done bin of a run into nblast_similarity_score, each bin in one
 * transaction, idempotently.
 *
 * Per bin (loadBin):
 *   1. read the shard once; its sha256 and size must be the done marker's (the bytes that
 *      are hashed are the bytes that are loaded: no window for the shard to change between
 *      check and load); rows must lie in the bin's region (region.ts);
 *   2. BEGIN; SET LOCAL synchronous_commit = off;
 *      pg_advisory_xact_lock(hash of "nblast-fanout:<similarity>:<bin>"): loaders of the
 *      same bin queue here, loaders of other bins do not wait;
 *   3. the ledger's sha256 for the bin equal to the shard's: nothing to do (COMMIT);
 *   4. DELETE the bin's region of the similarity (its earlier rows, if any);
 *   5. COPY ... FROM STDIN (FORMAT binary), rows encoded from the shard's typed arrays one
 *      row group at a time (CATMAID's rule applied while encoding);
 *   6. upsert the ledger row (sha256, rows, drops, computation time); COMMIT.
 * A loader killed anywhere before COMMIT leaves the bin as it was and the ledger with it;
 * a second loader of the same bin waits for the first and then finds step 3 true.
 *
 * synchronous_commit = off only lets COMMIT return before its WAL is flushed: a server
 * crash in that window (a fraction of a second) loses the whole transaction, rows and
 * ledger row together, and the next load does the bin again. Nothing is ever half there.
 */
import type pg from "pg";
import { InputError } from "../nblast/errors.ts";
import { readManifest, type RunManifest } from "../plan/manifest.ts";
import { mapLimit } from "../results/map-limit.ts";
import { openShard, readShardRowGroups, shardChecksum } from "../results/shard.ts";
import type { Storage } from "../storage/types.ts";
import { checkDone, doneKey, type DoneMarker } from "../worker/markers.ts";
import { checkSimilarity, readSimilarity, updateSimilarity } from "./catmaid.ts";
import { connect, explainQueryError, type DbTarget } from "./connect.ts";
import { CATMAID_RULE, CHUNK_ROWS, CopyEncoder, KEEP_EVERY_ROW } from "./copy-binary.ts";
import { startScoreCopy } from "./copy-stream.ts";
import { shardIdsAsInt64 } from "./ids.ts";
import { binRegion, firstRowOutside, regionSql } from "./region.ts";
import { BINS_TABLE, RUNS_TABLE, SCORE_TABLE, isCatmaid } from "./schema.ts";

export type BinOutcome =
  | {
      readonly bin: number; readonly status: "loaded"; readonly rows: number; readonly droppedSelf: number; readonly droppedLow: number;
      /** CATMAID's storage rule was applied (the drops count what it left out). */
      readonly catmaidRule: boolean; readonly replaced: boolean; readonly seconds: number;
    }
  | { readonly bin: number; readonly status: "unchanged" }
  | { readonly bin: number; readonly status: "stale"; readonly reason: string };

export interface LoadContext {
  readonly run: Storage;
  readonly manifest: RunManifest;
  readonly similarityId: number;
  readonly catmaid: boolean;
  /** Rows per CopyData chunk (bench). */
  readonly chunkRows?: number;
  /** Called with the COPY's progress (rows sent); the kill test and progress output use it. */
  readonly onCopyProgress?: (bin: number, rowsSent: number) => void;
}

const advisoryKey = `hashtextextended('nblast-fanout:' || $1::text || ':' || $2::text, 0)`;

/** Loads one done bin whose marker has been checked (state "done"); see the file comment. */
export async function loadBin(client: pg.Client, ctx: LoadContext, marker: DoneMarker): Promise<BinOutcome> {
  const bin = marker.bin;
  const t0 = performance.now();
  const key = marker.shard.key;
  const bytes = await ctx.run.get(key);
  const sha = shardChecksum(bytes);
  if (bytes.length !== marker.shard.bytes || sha !== marker.shard.sha256) {
    return { bin, status: "stale", reason: `${key} does not match ${doneKey(bin)} (sha256 ${sha}); rerun the bin` };
  }
  const source = `${ctx.run.uri}/${key}`;
  const shard = await openShard(bytes, source);
  if (shard.info.numRows !== marker.shard.rows) {
    return { bin, status: "stale", reason: `${key} has ${shard.info.numRows} rows, ${doneKey(bin)} says ${marker.shard.rows}` };
  }
  const arms = binRegion(ctx.manifest, bin);
  const sim = ctx.similarityId;
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL synchronous_commit = off");
    await client.query(`SELECT pg_advisory_xact_lock(${advisoryKey})`, [sim, bin]);
    const led = await client.query<{ sha: string }>(
      `SELECT shard_sha256 AS sha FROM ${BINS_TABLE} WHERE similarity_id = $1 AND bin = $2`,
      [sim, bin],
    );
    if (led.rows[0]?.sha === sha) {
      await client.query("COMMIT");
      return { bin, status: "unchanged" };
    }
    const region = regionSql(arms, 2);
    const del = await client.query(`DELETE FROM ${SCORE_TABLE} WHERE similarity_id = $1 AND ${region.sql}`, [sim, ...region.params]);
    const encoder = new CopyEncoder(sim, ctx.catmaid ? CATMAID_RULE : KEEP_EVERY_ROW, ctx.chunkRows ?? CHUNK_ROWS);
    const copy = await startScoreCopy(client);
    try {
      let sent = 0;
      await readShardRowGroups(shard, async (rows, group) => {
        const cols = { queryId: shardIdsAsInt64(rows.queryId), targetId: shardIdsAsInt64(rows.targetId), score: rows.score, length: rows.length };
        const bad = firstRowOutside(cols, arms);
        if (bad >= 0) {
          throw new InputError(
            `row ${group.rowStart + bad} (${cols.queryId[bad]}, ${cols.targetId[bad]}) is not a pair of bin ${bin} of this run's plan`,
            { source },
          );
        }
        for (const chunk of encoder.chunks(cols)) await copy.send(chunk);
        sent += rows.length;
        ctx.onCopyProgress?.(bin, sent);
      }, { components: false, source });
      await copy.finish();
    } catch (err) {
      await copy.abort(err);
      throw err;
    }
    const c = encoder.counts;
    await client.query(
      `INSERT INTO ${BINS_TABLE} (similarity_id, bin, shard_sha256, shard_rows, rows_loaded, dropped_self, dropped_low, computation_seconds, loaded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
       ON CONFLICT (similarity_id, bin) DO UPDATE SET
         shard_sha256 = EXCLUDED.shard_sha256, shard_rows = EXCLUDED.shard_rows, rows_loaded = EXCLUDED.rows_loaded,
         dropped_self = EXCLUDED.dropped_self, dropped_low = EXCLUDED.dropped_low,
         computation_seconds = EXCLUDED.computation_seconds, loaded_at = EXCLUDED.loaded_at`,
      [sim, bin, sha, marker.shard.rows, c.rows, c.droppedSelf, c.droppedLow, marker.timings.total],
    );
    await client.query("COMMIT");
    return {
      bin, status: "loaded", rows: c.rows, droppedSelf: c.droppedSelf, droppedLow: c.droppedLow, catmaidRule: ctx.catmaid,
      replaced: (del.rowCount ?? 0) > 0 || led.rows.length > 0, seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}

export interface LoadOptions {
  readonly run: Storage;
  readonly db: DbTarget;
  readonly similarityId: number;
  /** true: the database must be CATMAID's; undefined: detected. */
  readonly catmaid?: boolean;
  /** Only these bins (worker --load, the loader Lambda); default every bin. */
  readonly bins?: readonly number[];
  /** Bins loaded at once, each on its own connection (default 1). */
  readonly jobs?: number;
  readonly chunkRows?: number;
  readonly onBin?: (outcome: BinOutcome) => void;
  readonly onCopyProgress?: (bin: number, rowsSent: number) => void;
}

export interface LoadSummary {
  readonly catmaid: boolean;
  readonly bins: number;
  readonly outcomes: BinOutcome[];
  /** Bins (of those asked for) with no valid done marker yet. */
  readonly pending: number[];
  /** Ledger rows of this similarity after the load. */
  readonly loadedBins: number;
  readonly complete: boolean;
  readonly similarityUpdated: boolean;
}

/** Checks a similarity id: CATMAID's column is int. */
export function checkSimilarityId(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n >= 2 ** 31) throw new InputError(`--similarity-id must be an integer from 1 to ${2 ** 31 - 1}, got ${n}`);
}

/**
 * Registers the run for the similarity (or checks it is the one registered), then loads
 * every done bin whose shard is not the one in the ledger, `jobs` at a time.
 */
export async function loadRun(opts: LoadOptions): Promise<LoadSummary> {
  checkSimilarityId(opts.similarityId);
  const manifest = await readManifest(opts.run);
  const nBins = manifest.work.bins.length;
  const wanted = opts.bins ?? Array.from({ length: nBins }, (_, i) => i);
  for (const b of wanted) {
    if (!Number.isSafeInteger(b) || b < 0 || b >= nBins) throw new InputError(`bin ${b} does not exist: the run has ${nBins} bins, numbered 0 to ${nBins - 1}`);
  }
  const main = await connect(opts.db);
  const clients: pg.Client[] = [main];
  try {
    const catmaid = await prepare(main, opts, manifest);
    const ctx: LoadContext = {
      run: opts.run, manifest, similarityId: opts.similarityId, catmaid, chunkRows: opts.chunkRows, onCopyProgress: opts.onCopyProgress,
    };
    // Which bins need work: a done marker whose sha256 the ledger does not hold.
    const ledger = new Map(
      (
        await main.query<{ bin: number; sha: string }>(`SELECT bin, shard_sha256 AS sha FROM ${BINS_TABLE} WHERE similarity_id = $1`, [opts.similarityId])
      ).rows.map((r) => [r.bin, r.sha]),
    );
    const withMarker = new Set(
      (await opts.run.list("done/"))
        .map((k) => /^done\/(\d+)\.json$/.exec(k)?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number),
    );
    const checks = await mapLimit(wanted.filter((b) => withMarker.has(b)), 16, async (b) => ({ b, c: await checkDone(opts.run, manifest, b, "size") }));
    const pending = wanted.filter((b) => !withMarker.has(b));
    const outcomes: BinOutcome[] = [];
    const todo: DoneMarker[] = [];
    for (const { b, c } of checks) {
      if (c.state === "done") {
        if (ledger.get(b) === c.marker.shard.sha256) outcomes.push({ bin: b, status: "unchanged" });
        else todo.push(c.marker);
      } else if (c.state === "stale") {
        outcomes.push({ bin: b, status: "stale", reason: c.reason });
      } else {
        pending.push(b);
      }
    }
    for (const o of outcomes) opts.onBin?.(o);
    const jobs = Math.max(1, Math.min(opts.jobs ?? 1, todo.length));
    for (let i = 1; i < jobs; i++) clients.push(await connect(opts.db));
    const free = [...clients];
    let loadedNow = 0;
    await eachLimit(todo, jobs, async (marker) => {
      const client = free.pop()!;
      try {
        const o = await loadBin(client, ctx, marker).catch((err) => {
          throw explainQueryError(err, opts.db, `bin ${marker.bin}`);
        });
        outcomes.push(o);
        if (o.status === "loaded") {
          loadedNow++;
          if (catmaid) await updateSimilarity(client, opts.similarityId, manifest);
        }
        opts.onBin?.(o);
      } finally {
        free.push(client);
      }
    });
    let complete = false;
    let similarityUpdated = false;
    const count = await main.query<{ n: string }>(`SELECT count(*) AS n FROM ${BINS_TABLE} WHERE similarity_id = $1`, [opts.similarityId]);
    const loadedBins = Number(count.rows[0].n);
    if (catmaid) {
      // Every bin in: fill in the similarity row (again, when a bin was replaced, so its totals are right).
      const u = await updateSimilarity(main, opts.similarityId, manifest, { force: loadedNow > 0 });
      complete = u.complete;
      similarityUpdated = u.changed;
    } else {
      complete = loadedBins >= nBins;
    }
    if (complete) {
      await main.query(`UPDATE ${RUNS_TABLE} SET completed_at = now() WHERE similarity_id = $1 AND completed_at IS NULL`, [opts.similarityId]);
    }
    outcomes.sort((a, b) => a.bin - b.bin);
    pending.sort((a, b) => a - b);
    return { catmaid, bins: nBins, outcomes, pending, loadedBins, complete, similarityUpdated };
  } catch (err) {
    throw explainQueryError(err, opts.db, "load");
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/**
 * Runs fn over items, `limit` at a time; after a failure starts nothing new but lets the
 * bins in flight finish (commit or roll back) before rethrowing the first error, so no
 * connection is closed under a running transaction.
 */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let first: { err: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (first === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        first ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (first !== undefined) throw first.err;
}

/**
 * Before any bin: the schema is there, the database kind is as asked, the similarity
 * (CATMAID) fits the run, and the similarity is registered to this run and no other.
 */
async function prepare(client: pg.Client, opts: LoadOptions, manifest: RunManifest): Promise<boolean> {
  const sim = opts.similarityId;
  const detected = await isCatmaid(client);
  if (opts.catmaid === true && !detected) throw new InputError(`--catmaid: this database has no public.nblast_similarity table; it is not a CATMAID database`);
  const tables = await client.query<{ s: string | null; b: string | null }>(`SELECT to_regclass('${SCORE_TABLE}')::text AS s, to_regclass('${BINS_TABLE}')::text AS b`);
  if (tables.rows[0].s === null || tables.rows[0].b === null) {
    throw new InputError(`this database is not set up for loading (${tables.rows[0].s === null ? SCORE_TABLE : BINS_TABLE} is missing): run \`nblast-fanout db init\` as its owner first`);
  }
  const catmaid = detected;
  if (catmaid) checkSimilarity(await readSimilarity(client, sim), sim, manifest);
  const existing = await client.query<{ digest: string; uri: string }>(`SELECT manifest_digest AS digest, run_uri AS uri FROM ${RUNS_TABLE} WHERE similarity_id = $1`, [sim]);
  if (existing.rows.length === 0) {
    // Rows of this similarity that no run of ours wrote (CATMAID's own computation, say) would break the
    // bins' DELETE ranges: refuse rather than mix results.
    const foreign = await client.query(`SELECT 1 FROM ${SCORE_TABLE} WHERE similarity_id = $1 LIMIT 1`, [sim]);
    if (foreign.rows.length > 0) {
      throw new InputError(`similarity ${sim} already has score rows that nblast-fanout did not load; load into a new similarity`);
    }
    await client.query(
      `INSERT INTO ${RUNS_TABLE} (similarity_id, run_uri, manifest_digest, bins, catmaid) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (similarity_id) DO NOTHING`,
      [sim, opts.run.uri, manifest.digest, manifest.work.bins.length, catmaid],
    );
  }
  const reg = await client.query<{ digest: string; uri: string }>(`SELECT manifest_digest AS digest, run_uri AS uri FROM ${RUNS_TABLE} WHERE similarity_id = $1`, [sim]);
  if (reg.rows[0].digest !== manifest.digest) {
    throw new InputError(
      `similarity ${sim} holds another run (${reg.rows[0].uri}, manifest ${reg.rows[0].digest}); this run's manifest is ${manifest.digest}: load it into another similarity`,
    );
  }
  return catmaid;
}

/** Similarities a run is registered for (the loader Lambda loads a done bin into each). */
export async function registeredSimilarities(client: pg.Client, manifest: RunManifest): Promise<{ similarityId: number; catmaid: boolean }[]> {
  const r = await client.query<{ similarity_id: number; catmaid: boolean }>(
    `SELECT similarity_id, catmaid FROM ${RUNS_TABLE} WHERE manifest_digest = $1 ORDER BY similarity_id`,
    [manifest.digest],
  );
  return r.rows.map((x) => ({ similarityId: x.similarity_id, catmaid: x.catmaid }));
}
