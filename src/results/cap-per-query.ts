/**
 * The run's --top-n applied to the merged stream. A bin keeps the best N of the targets it
 * met, but a query's targets may be spread over several bins (bins are cut along pairs, and
 * symmetric runs tile the pair matrix), so only the merged rows can be capped exactly.
 * The stream is sorted by (query_id, target_id): a query's rows are consecutive, so one
 * query at a time is held, never the run.
 */
import { idKey, idWords, isKeyAt, sameIdAt } from "../ids/index.ts";
import { applyPolicy } from "./policy.ts";
import { RowsBuilder, sliceRows, type ScoreRows } from "./rows.ts";

export async function* capPerQuery(merged: AsyncIterable<ScoreRows>, topN: number, components: boolean): AsyncGenerator<ScoreRows> {
  const policy = { minScore: undefined, topN, keepSelf: true };
  // The last query of a chunk may go on in the next chunk: it is carried over as a copy,
  // since chunks are views valid only until the next one is asked for.
  let carry = new RowsBuilder(components);
  let carryQuery = idKey(0n);
  for await (const chunk of merged) {
    const n = chunk.length;
    const q = idWords(chunk.queryId);
    let start = 0;
    if (carry.length > 0) {
      while (start < n && isKeyAt(q, start, carryQuery)) start++;
      carry.append(chunk, 0, start);
      if (start === n) continue;
      yield applyPolicy(carry.finish(), policy);
      carry = new RowsBuilder(components);
    }
    if (start === n) continue;
    let lastStart = n - 1;
    while (lastStart > start && sameIdAt(q, lastStart - 1, q, lastStart)) lastStart--;
    if (lastStart > start) yield applyPolicy(sliceRows(chunk, start, lastStart), policy);
    carry.append(chunk, lastStart, n);
    carryQuery = idKey(chunk.queryId[lastStart]);
  }
  if (carry.length > 0) yield applyPolicy(carry.finish(), policy);
}
