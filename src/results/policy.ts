/**
 * Which computed rows a run stores. All-by-all runs produce N^2 pairs; most are noise, so
 * the manifest says what to keep. Semantics, precisely:
 *
 * 1. Self pairs (query_id === target_id) are dropped unless `keepSelf`.
 * 2. `minScore` is an exclusive lower bound ("keep above"): a row is kept when its stored
 *    float32 score is strictly greater than `minScore`. `minScore: 0` keeps positive scores
 *    only, which is what CATMAID stores. To keep scores >= x, pass the float32 just below x.
 *    The test is made on the float32 value (Math.fround of the computed double), never on the
 *    double: filtering is then a function of what is on disk, so applying a policy to rows
 *    read back from a shard keeps exactly the rows it kept the first time, and reruns write
 *    bit-identical shards.
 * 3. `topN` keeps, per query, at most N of the rows left after 1 and 2: highest score first,
 *    ties (equal float32 scores) broken by target_id ascending.
 *
 * `undefined` means "no limit" for minScore and topN.
 */
import { compareIdAt, idWords, sameIdAt } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import { gatherRows, sortRows, validateRows, type ScoreRows } from "./rows.ts";

export interface StoragePolicy {
  /** Keep rows whose float32 score is > minScore (exclusive); undefined keeps every score. */
  minScore: number | undefined;
  /** At most this many rows per query (best scores, ties by target id ascending); undefined: no cap. */
  topN: number | undefined;
  /** Keep query_id === target_id rows. */
  keepSelf: boolean;
}

/** Keeps every row. */
export const KEEP_ALL: StoragePolicy = Object.freeze({ minScore: undefined, topN: undefined, keepSelf: true });

/** Throws InputError when the policy cannot be applied (`source` names where it came from). */
export function validatePolicy(policy: StoragePolicy, source = "storage policy"): void {
  const { minScore, topN } = policy;
  if (minScore !== undefined && (typeof minScore !== "number" || Number.isNaN(minScore))) {
    throw new InputError(`minScore must be a number or absent, got ${String(minScore)}`, { source });
  }
  if (topN !== undefined && (!Number.isSafeInteger(topN) || topN < 1)) {
    throw new InputError(`topN must be a positive integer or absent, got ${String(topN)}`, { source });
  }
  if (typeof policy.keepSelf !== "boolean") {
    throw new InputError(`keepSelf must be true or false, got ${String(policy.keepSelf)}`, { source });
  }
}

/**
 * The rows the policy keeps, sorted by (query_id, target_id). Returns `rows` itself when it
 * is sorted and nothing is dropped.
 */
export function applyPolicy(rows: ScoreRows, policy: StoragePolicy): ScoreRows {
  validatePolicy(policy);
  validateRows(rows);
  const sorted = sortRows(rows);
  const { score: s, length: n } = sorted;
  const q = idWords(sorted.queryId), t = idWords(sorted.targetId);
  const { minScore, topN, keepSelf } = policy;
  const keep = new Uint8Array(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    // s[i] is already the float32 value: the threshold sees what is stored
    const k = (keepSelf || !sameIdAt(q, i, t, i)) && (minScore === undefined || s[i] > minScore);
    if (k) {
      keep[i] = 1;
      kept++;
    }
  }
  if (topN !== undefined) kept -= capPerQuery(sorted, keep, topN);
  if (kept === n) return sorted;
  const index = new Uint32Array(kept);
  for (let i = 0, j = 0; i < n; i++) if (keep[i]) index[j++] = i;
  return gatherRows(sorted, index, kept);
}

/** Clears keep[] beyond the best `cap` kept rows of each query run; returns how many it cleared. */
function capPerQuery(rows: ScoreRows, keep: Uint8Array, cap: number): number {
  const { score: s, length: n } = rows;
  const q = idWords(rows.queryId), t = idWords(rows.targetId);
  let scratch = new Uint32Array(0);
  let dropped = 0;
  for (let a = 0; a < n; ) {
    let b = a + 1;
    while (b < n && sameIdAt(q, b, q, a)) b++;
    let count = 0;
    for (let i = a; i < b; i++) count += keep[i];
    if (count > cap) {
      if (scratch.length < count) scratch = new Uint32Array(Math.max(count, scratch.length * 2));
      let m = 0;
      for (let i = a; i < b; i++) if (keep[i]) scratch[m++] = i;
      const run = scratch.subarray(0, m);
      run.sort((x, y) => (s[y] - s[x]) || compareIdAt(t, x, t, y));
      for (let i = cap; i < m; i++) keep[run[i]] = 0;
      dropped += m - cap;
    }
    a = b;
  }
  return dropped;
}
