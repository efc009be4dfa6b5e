/**
 * CATMAID's side of a load: the nblast_similarity row.
 *
 * CATMAID's guide for large NBLAST runs: create the similarity in the Neuron Similarity
 * widget with "Apply only (don't run)" (status 'queued', no objects, no scoring), compute
 * elsewhere, write the rows into nblast_similarity_score. The widget shows a relational
 * result when the row has status 'complete', scoring NULL (no large-object matrix), and
 * query_objects / target_objects listing every object (its query joins those lists with
 * the score rows, a missing pair reading as 0). The loader checks the row before the
 * first bin and fills it in after the last.
 */
import type pg from "pg";
import { InputError } from "../nblast/errors.ts";
import type { RunManifest } from "../plan/manifest.ts";
import { TOOL_VERSION } from "../version.ts";
import { BINS_TABLE, SIMILARITY_TABLE } from "./schema.ts";

/** normalized values CATMAID's check constraint allows (migration 0087). */
const CATMAID_MODES = ["raw", "normalized", "mean", "geometric-mean"];

export interface SimilarityRow {
  readonly id: number;
  readonly status: string | null;
  readonly scoring: string | null;
  readonly normalized: string;
  readonly use_alpha: boolean;
  readonly top_n: number | null;
}

export async function readSimilarity(client: pg.Client, id: number): Promise<SimilarityRow | undefined> {
  const r = await client.query<SimilarityRow>(
    `SELECT id, status, scoring::text AS scoring, normalized, use_alpha, top_n FROM ${SIMILARITY_TABLE} WHERE id = $1`,
    [id],
  );
  return r.rows[0];
}

/** Refuses a similarity whose settings do not describe this run, or that holds another result. */
export function checkSimilarity(row: SimilarityRow | undefined, id: number, manifest: RunManifest): void {
  const where = `similarity ${id}`;
  if (row === undefined) {
    throw new InputError(
      `${where} is not in ${SIMILARITY_TABLE}: create it in CATMAID's Neuron Similarity widget with "Apply only (don't run)" and pass its id`,
    );
  }
  if (row.scoring !== null) {
    throw new InputError(`${where} already holds a matrix result (scoring large object ${row.scoring}); create a new similarity for this run`);
  }
  const mode = manifest.scoring.normalization;
  if (!CATMAID_MODES.includes(mode)) {
    throw new InputError(`the run's normalization ${mode} is not one CATMAID knows (${CATMAID_MODES.join(", ")}); it cannot be shown as a CATMAID similarity`);
  }
  const problems: string[] = [];
  if (row.normalized !== mode) problems.push(`normalized is ${row.normalized}, the run used ${mode}`);
  if (row.use_alpha !== manifest.scoring.useAlpha) problems.push(`use_alpha is ${row.use_alpha}, the run used ${manifest.scoring.useAlpha}`);
  const topN = row.top_n ?? 0;
  const runTopN = manifest.storage.topN ?? 0;
  if (topN !== runTopN) problems.push(`top_n is ${topN}, the run kept ${runTopN === 0 ? "every match (0)" : `the top ${runTopN}`}`);
  if (problems.length > 0) {
    throw new InputError(`${where} does not describe this run: ${problems.join("; ")}; create a similarity with the run's settings`);
  }
}

/** "{1,2,3}": a bigint[] literal from the manifest's ids (exact for 64-bit ids in any form). */
function bigintArray(ids: ArrayLike<number | bigint | string>): string {
  return `{${Array.from(ids, (x) => String(x)).join(",")}}`;
}

/**
 * After a bin commits: the similarity shows progress ('computing', "K of N bins"), or,
 * when every bin is in the ledger, the finished result. Serialised per similarity by an
 * advisory lock and computed from the ledger, so concurrent loaders of different bins
 * leave the count right and exactly one of them sees the last bin in. Returns whether
 * the similarity is complete.
 */
export async function updateSimilarity(
  client: pg.Client,
  id: number,
  manifest: RunManifest,
  opts: { force?: boolean } = {},
): Promise<{ complete: boolean; loaded: number; changed: boolean }> {
  const bins = manifest.work.bins.length;
  await client.query("BEGIN");
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('nblast-fanout:similarity:' || $1::text, 0))`, [id]);
    const led = await client.query<{ n: string; seconds: number | null; rows: string | null }>(
      `SELECT count(*) AS n, sum(computation_seconds) AS seconds, sum(rows_loaded) AS rows FROM ${BINS_TABLE} WHERE similarity_id = $1`,
      [id],
    );
    const loaded = Number(led.rows[0].n);
    const row = await client.query<{ status: string | null }>(`SELECT status FROM ${SIMILARITY_TABLE} WHERE id = $1`, [id]);
    const status = row.rows[0]?.status ?? null;
    let changed = false;
    if (loaded >= bins) {
      if (status !== "complete" || opts.force === true) {
        const queries = manifest.work.queries;
        const targets = manifest.work.targets === "queries" ? queries : manifest.work.targets;
        const detail =
          `Computed scoring for ${queries.length} query skeletons vs ${targets.length} target skeletons ` +
          `(nblast-fanout ${TOOL_VERSION}: ${bins} bins, ${led.rows[0].rows ?? 0} scores above 0.01 loaded).`;
        await client.query(
          `UPDATE ${SIMILARITY_TABLE}
              SET status = 'complete', query_objects = $2::bigint[], target_objects = $3::bigint[],
                  computation_time = $4, detailed_status = $5
            WHERE id = $1`,
          [id, bigintArray(queries), bigintArray(targets), led.rows[0].seconds ?? 0, detail],
        );
        changed = true;
      }
    } else if (status !== "complete") {
      await client.query(
        `UPDATE ${SIMILARITY_TABLE} SET status = 'computing', detailed_status = $2 WHERE id = $1`,
        [id, `nblast-fanout: ${loaded} of ${bins} bins loaded`],
      );
      changed = true;
    }
    await client.query("COMMIT");
    return { complete: loaded >= bins, loaded, changed };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}
