/**
 * `top`: a neuron's best matches in a finished (or partly finished) run, in both
 * directions, since NBLAST scores are asymmetric unless the run averaged them:
 *   asQuery  - rows where the neuron is the query (its best targets)
 *   asTarget - rows where the neuron is the target (the queries that match it best)
 *
 * Shards are read row group by row group; groups whose query_id and target_id ranges
 * (Parquet statistics) both exclude the neuron are skipped unread. In a sorted shard the
 * neuron's query rows are one contiguous run, so the asQuery side usually touches one or
 * two groups; the asTarget side must look at every group whose target range covers the
 * neuron, which is nearly all of them. At most `concurrency` row groups are held at once.
 */
import { MAX_ID, idKey, idWords, isKeyAt } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { Storage } from "../storage/types.ts";
import { readShardRowGroups, type RowGroupInfo } from "./shard.ts";
import { mapLimit } from "./map-limit.ts";
import { listShards, openStorageShard, shardRef } from "./shard-store.ts";

export interface Match {
  queryId: bigint;
  targetId: bigint;
  /** The stored float32 score. */
  score: number;
}

export interface TopMatches {
  neuronId: bigint;
  /** Best first: score descending, ties by target id ascending. */
  asQuery: Match[];
  /** Best first: score descending, ties by query id ascending. */
  asTarget: Match[];
  shards: number;
  rowGroupsRead: number;
  rowGroupsSkipped: number;
}

export interface TopOptions {
  /** Also report the neuron's self pair when the run kept it (default false). */
  includeSelf?: boolean;
  /** Shards read at once (default 4). */
  concurrency?: number;
  /** Only these shard keys (a run's verified done shards); default every shards/bin=*.parquet. */
  shards?: readonly string[];
}

export async function topMatches(storage: Storage, neuronId: bigint, n: number, opts: TopOptions = {}): Promise<TopMatches> {
  if (typeof neuronId !== "bigint" || neuronId < 0n || neuronId > MAX_ID) {
    throw new InputError(`neuron id must be an integer from 0 to 2^63 - 1, got ${String(neuronId)}`);
  }
  if (!Number.isSafeInteger(n) || n < 1) throw new InputError(`number of matches must be a positive integer, got ${n}`);
  const shards = opts.shards === undefined ? await listShards(storage) : opts.shards.map(shardRef);
  if (shards.length === 0) throw new InputError(`no shards/bin=*.parquet found`, { source: storage.uri });
  const includeSelf = opts.includeSelf ?? false;
  const asQuery = new Best(n);
  const asTarget = new Best(n);
  let read = 0;
  let skipped = 0;
  const key = idKey(neuronId);
  const covers = (lo: bigint | undefined, hi: bigint | undefined): boolean =>
    !(lo !== undefined && neuronId < lo) && !(hi !== undefined && neuronId > hi);
  const skip = (g: RowGroupInfo): boolean => {
    const s = !covers(g.minQuery, g.maxQuery) && !covers(g.minTarget, g.maxTarget);
    if (s) skipped++;
    else read++;
    return s;
  };

  await mapLimit(shards, opts.concurrency ?? 4, async (ref) => {
    const shard = await openStorageShard(storage, ref.key);
    await readShardRowGroups(shard, (rows) => {
      const { score: s, length: len } = rows;
      const q = idWords(rows.queryId), t = idWords(rows.targetId);
      for (let i = 0; i < len; i++) {
        const isQuery = isKeyAt(q, i, key);
        const isTarget = isKeyAt(t, i, key);
        if (!isQuery && !isTarget) continue;
        if (isQuery && isTarget && !includeSelf) continue;
        // bigints only for the neuron's own rows
        if (isQuery) asQuery.offer(s[i], rows.targetId[i], neuronId);
        if (isTarget) asTarget.offer(s[i], rows.queryId[i], neuronId);
      }
    }, { components: false, skip });
  });

  return {
    neuronId,
    asQuery: asQuery.list((other, self, score) => ({ queryId: self, targetId: other, score })),
    asTarget: asTarget.list((other, self, score) => ({ queryId: other, targetId: self, score })),
    shards: shards.length,
    rowGroupsRead: read,
    rowGroupsSkipped: skipped,
  };
}

/** The n best (score desc, other id asc) offers, kept sorted in fixed typed arrays. */
class Best {
  private readonly score: Float64Array;
  private readonly other: BigInt64Array;
  private readonly self: BigInt64Array;
  private len = 0;

  constructor(n: number) {
    this.score = new Float64Array(n);
    this.other = new BigInt64Array(n);
    this.self = new BigInt64Array(n);
  }

  offer(score: number, other: bigint, self: bigint): void {
    const cap = this.score.length;
    if (this.len === cap && !before(score, other, this.score[cap - 1], this.other[cap - 1])) return;
    let i = this.len < cap ? this.len++ : cap - 1;
    while (i > 0 && before(score, other, this.score[i - 1], this.other[i - 1])) {
      this.score[i] = this.score[i - 1];
      this.other[i] = this.other[i - 1];
      this.self[i] = this.self[i - 1];
      i--;
    }
    this.score[i] = score;
    this.other[i] = other;
    this.self[i] = self;
  }

  list<T>(make: (other: bigint, self: bigint, score: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.len; i++) out.push(make(this.other[i], this.self[i], this.score[i]));
    return out;
  }
}

function before(s1: number, o1: bigint, s2: number, o2: bigint): boolean {
  return s1 > s2 || (s1 === s2 && o1 < o2);
}
