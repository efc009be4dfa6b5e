/**
 * nat's simplify_neuron(x, n) (nat 1.11.0, R/neuron.R), step by step, quirks included:
 * checked against real nat on the fixtures of test/fixtures/r-reference/.
 *
 *  - Branch points are nodes of degree > 2 (a root needs 3 children). If the main tree
 *    (the largest; nat's BranchPoints) has at most n of them, the skeleton is returned
 *    unchanged, every tree and lone node included.
 *  - Otherwise nat works on the graph of every tree at once. Roots are nodes without a
 *    parent that have children; leaves are the other nodes of degree 1. Edge weights are
 *    Euclidean lengths (sqrt of a long-double rowSums); igraph's Dijkstra returns
 *    (1 + w1 + w2 + ...) - 1 along the path from a root.
 *  - Step 0 (the spine): `which.max` of the roots x leaves distance matrix (column-major,
 *    Inf where a leaf is in another root's tree), so with one root the farthest leaf from
 *    it (first of equals), and with several roots the first Inf: leaves[2] when the first
 *    leaf is in the first root's tree, else leaves[1]. The spine is the path to that leaf
 *    from the first root; when that leaf is in another tree igraph finds no path and nat
 *    stops with "I can't understand the edges you have given me!" (we throw the same).
 *  - Steps 1..n: kept edges weigh 0, so distances are those of the unkept tails; the leaf
 *    at the largest one (first of equals; stop when it is 0) is joined to the nearest
 *    branch point above it that is "available" (some kept path passes through it, fewer
 *    than its children), the path between them is kept, and every branch point on it
 *    counts one more use. When no available branch point lies above, nat warns "unable
 *    to find a path back to spine" and stops (so a tail that meets the kept part at a
 *    root with two children ends the simplification).
 *  - The result keeps the kept edges and their nodes, in their original order; every other
 *    node is dropped, other trees and lone nodes included (SimplifyResult says so).
 */
import { InputError } from "./errors.ts";
import { ldSum3 } from "./long-double.ts";
import { topology } from "./segments.ts";
import type { Skeleton } from "./types.ts";

export interface SimplifyResult {
  readonly skeleton: Skeleton;
  /** Connected trees of the input (lone nodes counted) of which nothing is kept. */
  readonly droppedTrees: number;
  /** Why nat stopped adding branches before n, if it did (its warning). */
  readonly stoppedEarly: string | undefined;
}

export function simplifySkeleton(sk: Skeleton, nBranchPoints: number, source = "skeleton"): Skeleton {
  return simplifyWithReport(sk, nBranchPoints, source).skeleton;
}

export function simplifyWithReport(sk: Skeleton, nBranchPoints: number, source = "skeleton"): SimplifyResult {
  if (!(Number.isSafeInteger(nBranchPoints) && nBranchPoints >= 0)) {
    throw new RangeError(`simplify: the number of branch points must be a non-negative integer, got ${nBranchPoints}`);
  }
  const { parent, xyz } = sk;
  const n = parent.length;
  const topo = topology(sk);
  const { childStart, order, treeStart } = topo;
  const nChildren = (v: number): number => childStart[v + 1] - childStart[v];
  const degree = (v: number): number => nChildren(v) + (parent[v] >= 0 ? 1 : 0);

  // bps: the main tree's branch points in node order (nat's BranchPoints).
  const inMain = new Uint8Array(n);
  for (let k = treeStart[0]; k < treeStart[1]; k++) inMain[order[k]] = 1;
  const isBp = new Uint8Array(n);
  let nbps = 0;
  for (let v = 0; v < n; v++) {
    if (inMain[v] === 1 && degree(v) > 2) {
      isBp[v] = 1;
      nbps++;
    }
  }
  if (nbps <= nBranchPoints) return { skeleton: sk, droppedTrees: 0, stoppedEarly: undefined };

  const roots: number[] = [];
  const leaves: number[] = [];
  for (let v = 0; v < n; v++) {
    if (parent[v] < 0) {
      if (nChildren(v) > 0) roots.push(v);
    } else if (nChildren(v) === 0) leaves.push(v);
  }
  // The root of each node's tree.
  const rootOf = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const v = order[k];
    rootOf[v] = parent[v] < 0 ? v : rootOf[parent[v]];
  }

  // R: weights = sqrt(rowSums((xyz[child] - xyz[parent])^2)), rowSums in long double.
  const weight = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const p = parent[v];
    if (p < 0) continue;
    const dx = xyz[3 * v] - xyz[3 * p], dy = xyz[3 * v + 1] - xyz[3 * p + 1], dz = xyz[3 * v + 2] - xyz[3 * p + 2];
    weight[v] = Math.sqrt(ldSum3(dx * dx, dy * dy, dz * dz));
  }

  const used = new Int32Array(n); // bpsused
  const keptEdge = new Uint8Array(n); // keptEdge[v]: the edge parent[v] -> v is kept (weight 0)
  const acc = new Float64Array(n); // igraph's 1 + sum of weights from v's root
  const path: number[] = [];
  let stoppedEarly: string | undefined;

  for (let iter = 0; iter <= nBranchPoints; iter++) {
    for (let k = 0; k < n; k++) {
      const v = order[k];
      const p = parent[v];
      acc[v] = p < 0 ? 1 : acc[p] + (keptEdge[v] === 1 ? 0 : weight[v]);
    }
    let leaf: number;
    if (roots.length > 1) {
      // which.max over roots x leaves, column-major: the first Inf is in column 1.
      leaf = rootOf[leaves[0]] === roots[0] ? leaves[1] : leaves[0];
    } else {
      leaf = -1;
      let top = -Infinity;
      for (const l of leaves) {
        const d = acc[l] - 1;
        if (d > top) {
          top = d;
          leaf = l;
        }
      }
      if (iter > 0 && top === 0) {
        stoppedEarly = `unable to find a new path at step: ${iter}`;
        break;
      }
    }

    path.length = 0;
    if (iter === 0) {
      if (rootOf[leaf] !== roots[0]) {
        throw new InputError(
          `simplify: nat's simplify_neuron fails on this skeleton of ${roots.length} trees (its spine leaf is not in the first ` +
            `root's tree; R stops with "I can't understand the edges you have given me!"); join or split its trees, or drop --simplify`,
          { source },
        );
      }
      for (let v = leaf; v >= 0; v = parent[v]) path.push(v);
    } else {
      // The nearest available branch point above the leaf (igraph's unweighted shortest path, mode "in").
      let from = -1;
      for (let v = parent[leaf]; v >= 0; v = parent[v]) {
        if (isBp[v] === 1 && used[v] > 0 && used[v] < nChildren(v)) {
          from = v;
          break;
        }
      }
      if (from < 0) {
        stoppedEarly = `unable to find a path back to spine at step: ${iter}`;
        break;
      }
      for (let v = leaf; v !== from; v = parent[v]) path.push(v);
      path.push(from);
    }
    // path is leaf ... start: keep its edges, count its branch points.
    for (let j = 0; j < path.length; j++) {
      const v = path[j];
      if (j < path.length - 1) keptEdge[v] = 1;
      if (isBp[v] === 1) used[v]++;
    }
  }
  return keep(sk, keptEdge, topo.roots.length, stoppedEarly);
}

/** The kept edges and their nodes (prune_edges: nodes left without an edge go too). */
function keep(sk: Skeleton, keptEdge: Uint8Array, trees: number, stoppedEarly: string | undefined): SimplifyResult {
  const n = sk.parent.length;
  const onKept = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    if (keptEdge[v] === 1) {
      onKept[v] = 1;
      onKept[sk.parent[v]] = 1;
    }
  }
  const newIndex = new Int32Array(n).fill(-1);
  let m = 0;
  for (let v = 0; v < n; v++) if (onKept[v] === 1) newIndex[v] = m++;
  const ids = new Float64Array(m);
  const parent = new Int32Array(m);
  const xyz = new Float64Array(3 * m);
  let keptRoots = 0;
  for (let v = 0; v < n; v++) {
    const i = newIndex[v];
    if (i < 0) continue;
    ids[i] = sk.ids[v];
    parent[i] = keptEdge[v] === 1 ? newIndex[sk.parent[v]] : -1;
    if (parent[i] < 0) keptRoots++;
    xyz.set(sk.xyz.subarray(3 * v, 3 * v + 3), 3 * i);
  }
  return { skeleton: { ids, parent, xyz }, droppedTrees: trees - keptRoots, stoppedEarly };
}
