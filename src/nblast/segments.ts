/**
 * Tree structure of a Skeleton and its unbranched segments in the order R's nat
 * lists them (as.seglist), which fixes the order of resampled points.
 *
 * nat splits a neuron into its connected trees, largest first (ties: the tree
 * whose first node comes first), walks each depth-first from its root taking
 * children in node order, and closes a segment at every node whose degree is not
 * 2 (branch point or tip). A segment starts at the root or at the node where the
 * previous one closed; a lone node is a one-node segment.
 */
import type { Skeleton } from "./types.ts";

export interface Topology {
  /** Children of node i are children[childStart[i] .. childStart[i + 1]), in node order. */
  readonly childStart: Int32Array;
  readonly children: Int32Array;
  /** Roots in R's tree order (largest tree first). */
  readonly roots: Int32Array;
  /** Nodes of each tree in depth-first order, trees in `roots` order; parents come before children. */
  readonly order: Int32Array;
  /** Tree i is order[treeStart[i] .. treeStart[i + 1]). */
  readonly treeStart: Int32Array;
}

export function topology(sk: Skeleton): Topology {
  const parent = sk.parent;
  const n = parent.length;
  const childStart = new Int32Array(n + 1);
  let nRoots = 0;
  for (let i = 0; i < n; i++) {
    if (parent[i] >= 0) childStart[parent[i] + 1]++;
    else nRoots++;
  }
  for (let i = 0; i < n; i++) childStart[i + 1] += childStart[i];
  const children = new Int32Array(n - nRoots);
  const fill = childStart.slice(0, n);
  const rootsInNodeOrder = new Int32Array(nRoots);
  for (let i = 0, r = 0; i < n; i++) {
    if (parent[i] >= 0) children[fill[parent[i]]++] = i;
    else rootsInNodeOrder[r++] = i;
  }

  // Depth-first order of each tree; its size and smallest node index decide the tree order.
  const dfs = new Int32Array(n);
  const size = new Int32Array(nRoots);
  const minIndex = new Int32Array(nRoots);
  const stack = new Int32Array(n);
  let pos = 0;
  const startOf = new Int32Array(nRoots);
  for (let r = 0; r < nRoots; r++) {
    startOf[r] = pos;
    let top = 0;
    stack[top++] = rootsInNodeOrder[r];
    let lo = n;
    while (top > 0) {
      const v = stack[--top];
      dfs[pos++] = v;
      if (v < lo) lo = v;
      for (let c = childStart[v + 1] - 1; c >= childStart[v]; c--) stack[top++] = children[c];
    }
    size[r] = pos - startOf[r];
    minIndex[r] = lo;
  }

  const rank = Array.from({ length: nRoots }, (_, r) => r);
  rank.sort((a, b) => size[b] - size[a] || minIndex[a] - minIndex[b]);
  const roots = new Int32Array(nRoots);
  const order = new Int32Array(n);
  const treeStart = new Int32Array(nRoots + 1);
  let out = 0;
  for (let t = 0; t < nRoots; t++) {
    const r = rank[t];
    roots[t] = rootsInNodeOrder[r];
    treeStart[t] = out;
    order.set(dfs.subarray(startOf[r], startOf[r] + size[r]), out);
    out += size[r];
  }
  treeStart[nRoots] = out;
  return { childStart, children, roots, order, treeStart };
}

export interface Segments {
  /** Segment s is nodes[start[s] .. start[s + 1]), from its proximal end to its distal end. */
  readonly start: Int32Array;
  readonly nodes: Int32Array;
  /** 1 where a segment is the first of its tree (its head is the tree's root). */
  readonly firstOfTree: Uint8Array;
}

export function segments(sk: Skeleton, topo: Topology = topology(sk)): Segments {
  const { parent } = sk;
  const { childStart, order, treeStart } = topo;
  const n = parent.length;
  const nTrees = treeStart.length - 1;
  // Each non-root node is in exactly one segment after its head; each segment adds its head.
  const nodes = new Int32Array(2 * n);
  const start = new Int32Array(n + 1);
  const firstOfTree = new Uint8Array(n);
  let nSeg = 0;
  let len = 0;
  for (let t = 0; t < nTrees; t++) {
    const a = treeStart[t], b = treeStart[t + 1];
    const root = order[a];
    if (b - a === 1) {
      start[nSeg] = len;
      firstOfTree[nSeg] = 1;
      nodes[len++] = root;
      nSeg++;
      continue;
    }
    let open = true;
    start[nSeg] = len;
    firstOfTree[nSeg] = 1;
    nodes[len++] = root;
    for (let k = a + 1; k < b; k++) {
      const v = order[k];
      if (!open) {
        start[nSeg] = len;
        nodes[len++] = parent[v];
        open = true;
      }
      nodes[len++] = v;
      const degree = childStart[v + 1] - childStart[v] + 1;
      if (degree !== 2) {
        nSeg++;
        open = false;
      }
    }
  }
  start[nSeg] = len;
  return { start: start.slice(0, nSeg + 1), nodes: nodes.slice(0, len), firstOfTree: firstOfTree.slice(0, nSeg) };
}
