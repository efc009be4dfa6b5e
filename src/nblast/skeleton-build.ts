/**
 * Turns parsed node rows (ids, parent ids, positions) into a Skeleton, checking
 * what every skeleton format must satisfy: unique ids, parents that exist, no
 * cycles, at least one node. Parsers supply how to name a row in an error.
 */
import type { Skeleton } from "./types.ts";

export interface NodeRows {
  /** n node ids (integers). */
  ids: Float64Array;
  /** n parent ids; NaN for a root. */
  parentIds: Float64Array;
  /** 3n positions. */
  xyz: Float64Array;
}

export interface RowNaming {
  /** Throws the format's InputError for row i. */
  fail(i: number, message: string): never;
  /** How to point at row i from another row's message, e.g. "line 12" or "node 3". */
  ref(i: number): string;
  /** Throws the format's InputError for a skeleton without nodes. */
  failEmpty(): never;
}

export function buildSkeleton(rows: NodeRows, naming: RowNaming): Skeleton {
  const { ids, parentIds, xyz } = rows;
  const n = ids.length;
  if (n === 0) naming.failEmpty();

  const indexOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const earlier = indexOf.get(ids[i]);
    if (earlier !== undefined) naming.fail(i, `duplicate node id ${ids[i]} (first defined on ${naming.ref(earlier)})`);
    indexOf.set(ids[i], i);
  }

  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const pid = parentIds[i];
    if (Number.isNaN(pid)) {
      parent[i] = -1;
      continue;
    }
    const p = indexOf.get(pid);
    if (p === undefined) naming.fail(i, `node ${ids[i]} has parent id ${pid}, which is not a node id in this skeleton`);
    parent[i] = p;
  }

  const cycleAt = findCycle(parent);
  if (cycleAt >= 0) naming.fail(cycleAt, `node ${ids[cycleAt]} is its own ancestor (cycle ${describeCycle(ids, parent, cycleAt)})`);

  return { ids, parent, xyz };
}

/** Index of a node on a cycle of parent links, or -1 if they form a forest. */
function findCycle(parent: Int32Array): number {
  const n = parent.length;
  // 0: not seen; i + 1: on the walk started at i; -1: known to reach a root.
  const state = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (state[i] !== 0) continue;
    const stamp = i + 1;
    let j = i;
    while (j !== -1 && state[j] === 0) {
      state[j] = stamp;
      j = parent[j];
    }
    if (j !== -1 && state[j] === stamp) return j;
    for (let k = i; k !== -1 && state[k] === stamp; k = parent[k]) state[k] = -1;
  }
  return -1;
}

function describeCycle(ids: Float64Array, parent: Int32Array, start: number): string {
  const chain = [ids[start]];
  for (let j = parent[start]; j !== start && chain.length < 6; j = parent[j]) chain.push(ids[j]);
  const closed = chain.length < 6;
  return chain.join(" -> ") + (closed ? ` -> ${ids[start]}` : " -> ...");
}
