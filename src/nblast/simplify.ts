/**
 * nat's simplify_neuron(x, n): the skeleton cut down to its longest path plus the
 * longest branches that leave at most n branch points.
 *
 * nat's rule, reproduced here step by step (nat R/neuron.R):
 *  - A branch point is a node of degree > 2 (a root needs 3 children); a leaf is a
 *    node other than a root with no children. If the main tree (the largest) has at
 *    most n branch points the skeleton is returned unchanged.
 *  - Distances are igraph's weighted path lengths downstream from a branch point
 *    (edge weight = Euclidean length, as R computes it; igraph's Dijkstra sums
 *    1 + w1 + w2 + ... and subtracts the 1).
 *  - Spine: the leaf whose largest distance from any branch point is largest (that
 *    is the distance from its topmost branch point, not from the root); ties go to
 *    the leaf that comes first. The path from the root to it is kept.
 *  - Then n times: a branch point is "available" when kept paths pass through it
 *    but not through all its children. Each leaf scores its distance from the
 *    nearest available branch point above it (0 if none or if already chosen); the
 *    first leaf with the top score is chosen, and the path to it from the
 *    available branch point nearest to it (first in node order on a tie) is kept.
 *  - The result keeps the nodes on the kept paths, in their original order.
 *
 * Where R fails this does something sensible instead: with several roots the spine
 * starts at the root of the chosen leaf's tree (R takes the first root, whose tree
 * may not hold that leaf), so other trees are dropped; when no branch point is
 * available any more the loop stops (R then errors or adds nothing).
 */
import { ldSum3 } from "./long-double.ts";
import { topology } from "./segments.ts";
import type { Skeleton } from "./types.ts";

export function simplifySkeleton(sk: Skeleton, nBranchPoints: number): Skeleton {
  if (!(Number.isSafeInteger(nBranchPoints) && nBranchPoints >= 0)) {
    throw new RangeError(`simplify: the number of branch points must be a non-negative integer, got ${nBranchPoints}`);
  }
  const { parent, xyz } = sk;
  const n = parent.length;
  const topo = topology(sk);
  const { childStart, order, treeStart } = topo;
  const nChildren = (v: number): number => childStart[v + 1] - childStart[v];
  const isBranch = new Uint8Array(n);
  for (let v = 0; v < n; v++) isBranch[v] = nChildren(v) + (parent[v] >= 0 ? 1 : 0) > 2 ? 1 : 0;

  let mainTreeBranches = 0;
  for (let k = treeStart[0]; k < treeStart[1]; k++) mainTreeBranches += isBranch[order[k]];
  if (mainTreeBranches <= nBranchPoints) return sk;

  const leaves: number[] = [];
  for (let v = 0; v < n; v++) if (parent[v] >= 0 && nChildren(v) === 0) leaves.push(v);

  // R: weights = sqrt(rowSums((xyz[child] - xyz[parent])^2)), rowSums in long double.
  const weight = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const p = parent[v];
    if (p < 0) continue;
    const dx = xyz[3 * v] - xyz[3 * p], dy = xyz[3 * v + 1] - xyz[3 * p + 1], dz = xyz[3 * v + 2] - xyz[3 * p + 2];
    weight[v] = Math.sqrt(ldSum3(dx * dx, dy * dy, dz * dz));
  }

  const bps: number[] = [];
  for (let v = 0; v < n; v++) if (isBranch[v] === 1) bps.push(v);
  const used = new Int32Array(n);
  const available = (v: number): boolean => isBranch[v] === 1 && used[v] > 0 && used[v] < nChildren(v);
  const chosen = new Uint8Array(n);
  const onKept = new Uint8Array(n);
  const keptEdge = new Uint8Array(n); // keptEdge[v]: the edge parent[v] -> v is kept
  // acc[v]: igraph's running sum 1 + w + ... from the reference branch point above v; NaN if none.
  const acc = new Float64Array(n);
  const path: number[] = [];

  for (let iter = 0; iter <= nBranchPoints; iter++) {
    // Reference branch point: the topmost one for the spine, the nearest available one after.
    for (let k = 0; k < n; k++) {
      const v = order[k];
      const p = parent[v];
      if (p < 0) acc[v] = NaN;
      else if (iter === 0) acc[v] = !Number.isNaN(acc[p]) ? acc[p] + weight[v] : isBranch[p] === 1 ? 1 + weight[v] : NaN;
      else acc[v] = available(p) ? 1 + weight[v] : acc[p] + weight[v];
    }

    let leaf = -1;
    let top = 0;
    for (const l of leaves) {
      const score = iter === 0 ? (Number.isNaN(acc[l]) ? -Infinity : acc[l] - 1) : chosen[l] === 1 || Number.isNaN(acc[l]) ? 0 : acc[l] - 1;
      if (leaf < 0 || score > top) {
        leaf = l;
        top = score;
      }
    }

    path.length = 0;
    for (let v = leaf; v >= 0; v = parent[v]) path.push(v);
    path.reverse();
    let from = 0;
    if (iter > 0) {
      from = chosen[leaf] === 1 ? -1 : nearestAvailableAbove(path, available, weight);
      if (from < 0) {
        // R: every distance is Inf, so which.min takes the first available branch point.
        const first = bps.find(available);
        if (first === undefined) break; // R stops with an error here
        from = path.indexOf(first);
      }
    }
    chosen[leaf] = 1;
    if (from < 0) continue; // R: igraph finds no path to the leaf and nothing is added
    for (let k = from; k < path.length; k++) {
      const v = path[k];
      onKept[v] = 1;
      if (k > from) keptEdge[v] = 1;
      if (isBranch[v] === 1) used[v]++;
    }
  }
  return keep(sk, onKept, keptEdge);
}

/**
 * Position in path (root ... leaf) of the available branch point with the smallest
 * igraph distance to the leaf, the first in node order on a tie; -1 if none is on
 * the path. The nearest one above the leaf has the smallest distance; one further
 * up can only tie with it when the edges in between are lost to rounding, so only
 * those are compared (a deep spine has thousands of available branch points).
 */
function nearestAvailableAbove(path: number[], available: (v: number) => boolean, weight: Float64Array): number {
  const last = path.length - 1;
  let best = last - 1;
  while (best >= 0 && !available(path[best])) best--;
  if (best < 0) return -1;
  const bestDist = igraphDistance(path, best, weight);
  // Rounding error of a sum of m positive terms is below m * 2^-53 of the total.
  const slack = 4 * path.length * 2 ** -53;
  let between = 0;
  for (let k = best - 1; k >= 0; k--) {
    between += weight[path[k + 1]];
    if (between > slack * (1 + bestDist + between)) break;
    if (available(path[k]) && path[k] < path[best] && igraphDistance(path, k, weight) === bestDist) best = k;
  }
  return best;
}

/** igraph's Dijkstra distance from path[k] down to the end of path: (1 + w + w + ...) - 1. */
function igraphDistance(path: number[], k: number, weight: Float64Array): number {
  let s = 1;
  for (let j = k + 1; j < path.length; j++) s += weight[path[j]];
  return s - 1;
}

function keep(sk: Skeleton, onKept: Uint8Array, keptEdge: Uint8Array): Skeleton {
  const n = sk.parent.length;
  const newIndex = new Int32Array(n).fill(-1);
  let m = 0;
  for (let v = 0; v < n; v++) if (onKept[v] === 1) newIndex[v] = m++;
  const ids = new Float64Array(m);
  const parent = new Int32Array(m);
  const xyz = new Float64Array(3 * m);
  for (let v = 0; v < n; v++) {
    const i = newIndex[v];
    if (i < 0) continue;
    ids[i] = sk.ids[v];
    parent[i] = keptEdge[v] === 1 ? newIndex[sk.parent[v]] : -1;
    xyz.set(sk.xyz.subarray(3 * v, 3 * v + 3), 3 * i);
  }
  return { ids, parent, xyz };
}
