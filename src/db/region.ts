/**
 * Which rows of nblast_similarity_score belong to a bin.
 *
 * CATMAID fixes the score table's columns, so rows carry no bin. A bin owns a set of
 * pairs that the manifest spells out as blocks of positions into the run's sorted id
 * lists, and every pair of the run belongs to exactly one bin:
 *   rows layout:  (queries[i], targets[j]) for i in rows, j in cols;
 *   upper layout: (ids[i], ids[j]) with i < j (i <= j with diagonal), emitted under both
 *                 orders, (ids[i], ids[j]) and (ids[j], ids[i]).
 * The id lists are ascending, so a run of positions is a range of id values, and i < j is
 * ids[i] < ids[j]. A bin's rows are therefore exactly the rows of the similarity
 * satisfying an OR of at most 2 x 5 "arms" of the form
 *   query_object_id BETWEEN a AND b AND target_object_id BETWEEN c AND d [AND q < t | q > t ...]
 * which holds as long as every row of the similarity is a pair of this run (the loader
 * registers one run per similarity and refuses foreign rows). Unlike "the bin's queries",
 * this is right in the upper layout, where a query's row is spread over many bins.
 *
 * The loader checks each shard row against its bin's arms before loading it, so a
 * reload's DELETE removes exactly what the previous load of that bin wrote.
 */
import type { RunManifest } from "../plan/manifest.ts";
import { binWork } from "../plan/work.ts";
import { manifestIdAsBigInt } from "./ids.ts";
import type { ScoreColumns } from "./copy-binary.ts";

/** Inclusive id range. */
export interface IdRange {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** How query and target compare within an arm ("any": no constraint). */
export type PairOrder = "any" | "lt" | "le" | "gt" | "ge";

export interface RegionArm {
  readonly query: IdRange;
  readonly target: IdRange;
  readonly order: PairOrder;
}

/** The arms whose union is bin `bin`'s rows. */
export function binRegion(manifest: RunManifest, bin: number): RegionArm[] {
  const w = binWork(manifest, bin);
  const range = (ids: ArrayLike<number | bigint | string>, a: number, b: number): IdRange => ({
    lo: manifestIdAsBigInt(ids[a]),
    hi: manifestIdAsBigInt(ids[b - 1]),
  });
  const arms: RegionArm[] = [];
  for (const k of w.blocks) {
    const rows = range(w.queries, k.rows[0], k.rows[1]);
    const cols = range(w.targets, k.cols[0], k.cols[1]);
    if (w.layout === "rows") {
      arms.push({ query: rows, target: cols, order: "any" });
    } else {
      arms.push({ query: rows, target: cols, order: w.diagonal ? "le" : "lt" });
      arms.push({ query: cols, target: rows, order: w.diagonal ? "ge" : "gt" });
    }
  }
  return arms;
}

const SQL_ORDER: Record<PairOrder, string> = {
  any: "",
  lt: " AND query_object_id < target_object_id",
  le: " AND query_object_id <= target_object_id",
  gt: " AND query_object_id > target_object_id",
  ge: " AND query_object_id >= target_object_id",
};

/**
 * The WHERE condition (without similarity_id) selecting a region's rows, with bigint
 * parameters numbered from `firstParam`, passed as decimal strings.
 */
export function regionSql(arms: readonly RegionArm[], firstParam: number): { sql: string; params: string[] } {
  const params: string[] = [];
  const p = (v: bigint): string => {
    params.push(v.toString());
    return `$${firstParam + params.length - 1}::bigint`;
  };
  const parts = arms.map(
    (a) =>
      `(query_object_id BETWEEN ${p(a.query.lo)} AND ${p(a.query.hi)} AND ` +
      `target_object_id BETWEEN ${p(a.target.lo)} AND ${p(a.target.hi)}${SQL_ORDER[a.order]})`,
  );
  return { sql: parts.length === 0 ? "FALSE" : `(${parts.join(" OR ")})`, params };
}

/** int64 as (signed high word, unsigned low word), for comparisons without BigInt reads. */
interface Split {
  readonly hi: number;
  readonly lo: number;
}

function split(v: bigint): Split {
  const u = BigInt.asUintN(64, v);
  return { hi: Number(BigInt.asIntN(32, u >> 32n)), lo: Number(u & 0xffffffffn) };
}

/** Sign of a - b for int64 split into words. */
function cmp(ahi: number, alo: number, bhi: number, blo: number): number {
  return ahi !== bhi ? ahi - bhi : alo - blo;
}

/** Index of the first row in [start, end) outside the region, or -1. */
export function firstRowOutside(cols: ScoreColumns, arms: readonly RegionArm[], start = 0, end = cols.length): number {
  const q32 = new Int32Array(cols.queryId.buffer, cols.queryId.byteOffset, cols.queryId.length * 2);
  const t32 = new Int32Array(cols.targetId.buffer, cols.targetId.byteOffset, cols.targetId.length * 2);
  const qu = new Uint32Array(q32.buffer, q32.byteOffset, q32.length);
  const tu = new Uint32Array(t32.buffer, t32.byteOffset, t32.length);
  const bounds = arms.map((a) => ({
    qlo: split(a.query.lo), qhi: split(a.query.hi), tlo: split(a.target.lo), thi: split(a.target.hi), order: a.order,
  }));
  for (let i = start; i < end; i++) {
    const qh = q32[2 * i + 1], ql = qu[2 * i];
    const th = t32[2 * i + 1], tl = tu[2 * i];
    let inside = false;
    for (let k = 0; k < bounds.length && !inside; k++) {
      const b = bounds[k];
      if (cmp(qh, ql, b.qlo.hi, b.qlo.lo) < 0 || cmp(qh, ql, b.qhi.hi, b.qhi.lo) > 0) continue;
      if (cmp(th, tl, b.tlo.hi, b.tlo.lo) < 0 || cmp(th, tl, b.thi.hi, b.thi.lo) > 0) continue;
      const c = cmp(qh, ql, th, tl);
      inside =
        b.order === "any" || (b.order === "lt" ? c < 0 : b.order === "le" ? c <= 0 : b.order === "gt" ? c > 0 : c >= 0);
    }
    if (!inside) return i;
  }
  return -1;
}
