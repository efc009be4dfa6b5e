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
 * A plan in space order (src/plan/spatial.ts) lists the ids along a Hilbert curve, so a
 * run of positions is a set of ids, not a range: its arms name id sets instead
 * (query_object_id = ANY(...)), one pair of arms per row group of the bin. There every
 * upper block is a diagonal tile (rows = cols: every pair of the set, under both orders)
 * or lies wholly right of its rows (every pair of rows x cols, under both orders), which
 * the manifest checks.
 *
 * The loader checks each shard row against its bin's arms before loading it, so a
 * reload's DELETE removes exactly what the previous load of that bin wrote.
 */
import type { RunManifest } from "../plan/manifest.ts";
import { binWork, type BinWork } from "../plan/work.ts";
import { idWords, searchIdAt } from "../ids/index.ts";
import { manifestIdAsBigInt } from "./ids.ts";
import type { ScoreColumns } from "./copy-binary.ts";

/** Inclusive id range. */
export interface IdRange {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** A set of ids, ascending. */
export interface IdSet {
  readonly ids: BigInt64Array;
}

export type IdSpan = IdRange | IdSet;

/** How query and target compare within an arm ("any": no constraint). */
export type PairOrder = "any" | "lt" | "le" | "gt" | "ge" | "ne";

export interface RegionArm {
  readonly query: IdSpan;
  readonly target: IdSpan;
  readonly order: PairOrder;
}

/** The arms whose union is bin `bin`'s rows. */
export function binRegion(manifest: RunManifest, bin: number): RegionArm[] {
  const w = binWork(manifest, bin);
  if (manifest.work.order === "space") return spaceRegion(w);
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

/** A space-order bin's arms: id sets, merged per row group. */
function spaceRegion(w: BinWork): RegionArm[] {
  const ids = w.queries; // one list (all-by-all)
  const setOf = (a: number, b: number): IdSet => ({ ids: ids.slice(a, b).sort() });
  const arms: RegionArm[] = [];
  // off-diagonal blocks of one row group share their arms: the union of their columns
  const right = new Map<string, { rows: readonly [number, number]; cols: [number, number][] }>();
  for (const k of w.blocks) {
    const diagonalTile = k.rows[0] === k.cols[0] && k.rows[1] === k.cols[1];
    if (w.layout === "upper" && diagonalTile) {
      const r = setOf(k.rows[0], k.rows[1]);
      arms.push({ query: r, target: r, order: w.diagonal ? "any" : "ne" });
      continue;
    }
    const key = `${k.rows[0]},${k.rows[1]}`;
    let e = right.get(key);
    if (e === undefined) right.set(key, (e = { rows: k.rows, cols: [] }));
    e.cols.push([k.cols[0], k.cols[1]]);
  }
  for (const { rows, cols } of right.values()) {
    const r = setOf(rows[0], rows[1]);
    const parts = cols.map(([a, b]) => ids.subarray(a, b));
    const all = new BigInt64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    const c: IdSet = { ids: all.sort() };
    arms.push({ query: r, target: c, order: "any" });
    if (w.layout === "upper") arms.push({ query: c, target: r, order: "any" });
  }
  return arms;
}

const SQL_ORDER: Record<PairOrder, string> = {
  any: "",
  lt: " AND query_object_id < target_object_id",
  le: " AND query_object_id <= target_object_id",
  gt: " AND query_object_id > target_object_id",
  ge: " AND query_object_id >= target_object_id",
  ne: " AND query_object_id <> target_object_id",
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
  const span = (column: string, s: IdSpan): string => {
    if ("lo" in s) return `${column} BETWEEN ${p(s.lo)} AND ${p(s.hi)}`;
    params.push(`{${s.ids.join(",")}}`);
    return `${column} = ANY($${firstParam + params.length - 1}::bigint[])`;
  };
  const parts = arms.map((a) => `(${span("query_object_id", a.query)} AND ${span("target_object_id", a.target)}${SQL_ORDER[a.order]})`);
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
  const qw = idWords(cols.queryId), tw = idWords(cols.targetId);
  const test = arms.map((a) => ({ q: spanTest(a.query), t: spanTest(a.target), order: a.order }));
  // A shard's rows come query by query: the arms whose query span holds the query are found
  // once per query (a space-order bin has hundreds of arms), then each row tries only those,
  // the one that held the last row first.
  const held = new Int32Array(test.length);
  let heldCount = 0;
  let last = 0;
  let curHi = 0, curLo = 0, fresh = true;
  for (let i = start; i < end; i++) {
    const qh = q32[2 * i + 1], ql = qu[2 * i];
    const th = t32[2 * i + 1], tl = tu[2 * i];
    if (fresh || qh !== curHi || ql !== curLo) {
      fresh = false;
      curHi = qh;
      curLo = ql;
      heldCount = 0;
      for (let k = 0; k < test.length; k++) if (test[k].q(qh, ql, qw, i)) held[heldCount++] = k;
      last = 0;
    }
    let inside = false;
    for (let n = 0; n < heldCount && !inside; n++) {
      const h = n === 0 ? last : n <= last ? n - 1 : n;
      const b = test[held[h]];
      if (!b.t(th, tl, tw, i)) continue;
      const c = cmp(qh, ql, th, tl);
      inside =
        b.order === "any" ||
        (b.order === "lt" ? c < 0 : b.order === "le" ? c <= 0 : b.order === "gt" ? c > 0 : b.order === "ge" ? c >= 0 : c !== 0);
      if (inside) last = h;
    }
    if (!inside) return i;
  }
  return -1;
}

/** Membership of the id at row i (its words, and the column's words) in a span. */
function spanTest(s: IdSpan): (hi: number, lo: number, words: Uint32Array, i: number) => boolean {
  if ("lo" in s) {
    const a = split(s.lo), b = split(s.hi);
    return (hi, lo) => cmp(hi, lo, a.hi, a.lo) >= 0 && cmp(hi, lo, b.hi, b.lo) <= 0;
  }
  const set = idWords(s.ids);
  const n = s.ids.length;
  return (_hi, _lo, words, i) => searchIdAt(set, n, words, i) >= 0;
}
