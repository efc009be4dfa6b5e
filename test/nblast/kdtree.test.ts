import { describe, expect, it } from "vitest";
import { KdTree, TIE_WINDOW } from "../../src/nblast/kdtree.ts";
import { rng } from "../helpers/rng.ts";

/** Deterministic pseudo-random numbers in [0, 1). */

function d2(p: ArrayLike<number>, i: number, x: number, y: number, z: number): number {
  const dx = x - p[3 * i];
  const dy = y - p[3 * i + 1];
  const dz = z - p[3 * i + 2];
  return dx * dx + dy * dy + dz * dz;
}

/** Brute force: the lowest index at the least distance, and whether another point is within the tie window. */
function bruteNearest(p: ArrayLike<number>, x: number, y: number, z: number): [number, number, boolean] {
  let best = Infinity;
  let bi = -1;
  for (let i = 0; i < p.length / 3; i++) {
    const d = d2(p, i, x, y, z);
    if (d < best) {
      best = d;
      bi = i;
    }
  }
  let near = 0;
  for (let i = 0; i < p.length / 3; i++) if (d2(p, i, x, y, z) <= best * TIE_WINDOW) near++;
  return [bi, best, near > 1];
}

function bruteKnn(p: ArrayLike<number>, x: number, y: number, z: number, k: number): number[] {
  const dist = Array.from({ length: p.length / 3 }, (_, i) => d2(p, i, x, y, z));
  const idx = Array.from({ length: p.length / 3 }, (_, i) => i);
  idx.sort((a, b) => dist[a] - dist[b] || a - b);
  return idx.slice(0, k);
}

/** Random cloud; with `grid`, integer coordinates in a small cube, so many duplicates and exact ties. */
function cloud(n: number, seed: number, grid = 0): Float64Array {
  const r = rng(seed);
  const p = new Float64Array(3 * n);
  for (let i = 0; i < p.length; i++) p[i] = grid > 0 ? Math.floor(r() * grid) : (r() - 0.5) * 200;
  return p;
}

/** Queries as NBLAST makes them: a random walk (coherent), plus random jumps. */
function queries(n: number, seed: number, grid = 0): Float64Array {
  const r = rng(seed);
  const q = new Float64Array(3 * n);
  let x = 0, y = 0, z = 0;
  for (let i = 0; i < n; i++) {
    if (grid > 0) {
      x = Math.floor(r() * (grid + 2)) - 1;
      y = Math.floor(r() * (grid + 2)) - 1;
      z = Math.floor(r() * (grid + 2)) - 1;
    } else if (i % 50 === 0) {
      x = (r() - 0.5) * 400;
      y = (r() - 0.5) * 400;
      z = (r() - 0.5) * 400;
    } else {
      x += r() - 0.5;
      y += r() - 0.5;
      z += r() - 0.5;
    }
    q[3 * i] = x;
    q[3 * i + 1] = y;
    q[3 * i + 2] = z;
  }
  return q;
}

describe("KdTree.nearest", () => {
  const cases: [string, Float64Array, Float64Array][] = [
    ["1 point", cloud(1, 1), queries(50, 2)],
    ["2 points", cloud(2, 3), queries(50, 4)],
    ["leaf-sized", cloud(8, 5), queries(200, 6)],
    ["leaf + 1", cloud(9, 7), queries(200, 8)],
    ["300 random", cloud(300, 9), queries(2000, 10)],
    ["3000 random", cloud(3000, 11), queries(3000, 12)],
    ["duplicates and ties on a 4^3 grid", cloud(500, 13, 4), queries(3000, 14, 4)],
    ["duplicates and ties on a 2^3 grid", cloud(100, 15, 2), queries(500, 16, 2)],
  ];
  for (const [name, pts, qs] of cases) {
    it(`matches brute force exactly (distance, and the tie flag): ${name}`, () => {
      for (const leafSize of [1, 3, 8, 32]) {
        const tree = new KdTree(pts, leafSize);
        for (let i = 0; i < qs.length / 3; i++) {
          const [x, y, z] = [qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]];
          const [bi, bd, tie] = bruteNearest(pts, x, y, z);
          const got = tree.nearest(x, y, z);
          // Untied, the answer is the one nearest point; tied, any point at the least distance.
          const ok = tree.lastDist2 === bd && tree.lastTie === tie && (tie ? d2(pts, got, x, y, z) === bd : got === bi);
          if (!ok) {
            expect({ leafSize, query: i, got, dist2: tree.lastDist2, tie: tree.lastTie }).toEqual({ leafSize, query: i, got: bi, dist2: bd, tie });
          }
        }
      }
    });
  }

  it("flags ties and near ties, whatever was asked before, and only those", () => {
    // Five points at the same distance from the origin.
    const pts = new Float64Array([0, 0, 5, 5, 0, 0, 0, -5, 0, -5, 0, 0, 0, 5, 0]);
    const tree = new KdTree(pts, 1);
    for (const [x, y, z, want] of [[100, 0, 0, 1], [0, 0, 0, -1], [0, 100, 0, 4], [0, 0, 0, -1], [-100, 0, 0, 3], [0, 0, 0, -1]]) {
      const got = tree.nearest(x, y, z);
      expect(tree.lastTie).toBe(want < 0);
      if (want >= 0) expect(got).toBe(want);
      else expect(tree.lastDist2).toBe(25);
    }
    // Two points whose squared distances differ by one part in 2^40: a near tie (R's own
    // rounding could pick either); one part in 2^30 is not.
    const near = new KdTree(new Float64Array([1, 0, 0, -(1 + 2 ** -41), 0, 0]), 1);
    near.nearest(0, 0, 0);
    expect(near.lastTie).toBe(true);
    const far = new KdTree(new Float64Array([1, 0, 0, -(1 + 2 ** -31), 0, 0]), 1);
    expect(far.nearest(0, 0, 0)).toBe(0);
    expect(far.lastTie).toBe(false);
  });

  it("slot and index views agree, and coordinates are copied in tree order", () => {
    const pts = cloud(200, 21);
    const tree = new KdTree(pts, 4);
    const slot = tree.nearestSlot(1, 2, 3);
    const id = tree.ids[slot];
    expect(tree.nearest(1, 2, 3)).toBe(id);
    expect(Array.from(tree.coords.subarray(3 * slot, 3 * slot + 3))).toEqual(Array.from(pts.subarray(3 * id, 3 * id + 3)));
    expect(new Set(tree.ids).size).toBe(200);
  });

  it("accepts Float32Array coordinates", () => {
    const pts = Float32Array.from(cloud(400, 23));
    const tree = new KdTree(pts);
    const qs = queries(500, 24);
    for (let i = 0; i < 500; i++) {
      const [bi, bd, tie] = bruteNearest(pts, qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]);
      expect(tie).toBe(false);
      expect(tree.nearest(qs[3 * i], qs[3 * i + 1], qs[3 * i + 2])).toBe(bi);
      expect(tree.lastDist2).toBe(bd);
    }
  });

  it("handles an empty tree and rejects bad input", () => {
    const empty = new KdTree(new Float64Array(0));
    expect(empty.nearest(0, 0, 0)).toBe(-1);
    expect(empty.lastDist2).toBe(Infinity);
    expect(empty.knn(0, 0, 0, 5, new Int32Array(5), new Float64Array(5))).toBe(0);
    expect(() => new KdTree(new Float64Array(4))).toThrow(/multiple of 3/);
    expect(() => new KdTree(new Float64Array([0, 0, NaN]))).toThrow(/non-finite/);
    expect(() => new KdTree(new Float64Array(3), 0)).toThrow(/leafSize/);
  });
});

describe("KdTree.knn", () => {
  const cases: [string, Float64Array, Float64Array][] = [
    ["random", cloud(500, 31), queries(500, 32)],
    ["duplicates and ties", cloud(300, 33, 3), queries(400, 34, 3)],
    ["tiny", cloud(3, 35), queries(50, 36)],
  ];
  for (const [name, pts, qs] of cases) {
    it(`matches sorted brute force (distance, then index): ${name}`, () => {
      const trees = [new KdTree(pts, 2), new KdTree(pts, 8)];
      const outIdx = new Int32Array(600);
      const outD = new Float64Array(600);
      for (let i = 0; i < qs.length / 3; i++) {
        const [x, y, z] = [qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]];
        const sorted = bruteKnn(pts, x, y, z, 600);
        for (const tree of trees) {
          for (const k of [1, 5, 17, 600]) {
            const m = tree.knn(x, y, z, k, outIdx, outD);
            const want = sorted.slice(0, k);
            expect(m).toBe(want.length);
            const got = Array.from(outIdx.subarray(0, m));
            const dists = Array.from(outD.subarray(0, m));
            const wantDists = want.map((j) => d2(pts, j, x, y, z));
            if (got.join() !== want.join() || dists.join() !== wantDists.join()) {
              expect({ k, i, got, dists }).toEqual({ k, i, got: want, dists: wantDists });
            }
          }
        }
      }
    });
  }

  it("rejects output arrays shorter than k", () => {
    const tree = new KdTree(cloud(10, 41));
    expect(() => tree.knn(0, 0, 0, 5, new Int32Array(4), new Float64Array(5))).toThrow(/shorter/);
  });
});

describe("KdTree in a caller's buffer", () => {
  it("nodeCount and byteLength size the tree exactly, for any n and leafSize", () => {
    for (const leafSize of [1, 2, 3, 8, 32]) {
      for (let n = 0; n < 300; n += n < 40 ? 1 : 37) {
        const tree = new KdTree(cloud(n, 100 + n), leafSize);
        expect(KdTree.nodeCount(n, leafSize)).toBe(tree.nodeCount);
        const bytes = KdTree.byteLength(n, leafSize);
        expect(bytes % 8).toBe(0);
        expect(tree.buffer.byteLength).toBe(bytes);
        const arrays = [tree.coords, tree.boxes, tree.ids, tree.starts, tree.ends, tree.children];
        const used = arrays.reduce((s, a) => s + a.byteLength, 0);
        expect(bytes - used).toBeGreaterThanOrEqual(16); // the header
        expect(bytes - used).toBeLessThan(24);
      }
    }
    expect(KdTree.nodeCount(100_000, 8)).toBe(new KdTree(cloud(100_000, 7)).nodeCount);
  });

  it("builds into a shared buffer at an offset, over dirty bytes, and KdTree.from answers exactly as a tree of its own", () => {
    const sets = [cloud(3000, 51), cloud(500, 52, 4), cloud(1, 53), cloud(0, 54), cloud(9, 55)];
    const leaf = [8, 3, 8, 8, 1];
    const offsets: number[] = [];
    let bytes = 24; // something else first
    for (let k = 0; k < sets.length; k++) {
      offsets.push(bytes);
      bytes += KdTree.byteLength(sets[k].length / 3, leaf[k]);
    }
    const sab = new SharedArrayBuffer(bytes);
    new Uint8Array(sab).fill(0xa5); // a reused block: nothing may rely on zeroed memory
    const built = sets.map((p, k) => new KdTree(p, leaf[k], sab, offsets[k]));
    // each tree stays within its slot: rebuilding one does not disturb its neighbours
    new KdTree(sets[1], leaf[1], sab, offsets[1]);
    const qs = queries(2000, 56, 4);
    const outA = new Int32Array(7), outB = new Int32Array(7);
    const dA = new Float64Array(7), dB = new Float64Array(7);
    for (let k = 0; k < sets.length; k++) {
      const own = new KdTree(sets[k], leaf[k]);
      // two views of one shared tree, as two threads would have, queried in turn
      const a = KdTree.from(sab, offsets[k]);
      const b = KdTree.from(sab, offsets[k]);
      expect(a.coords.buffer).toBe(sab);
      expect(a.coords.byteOffset).toBe(built[k].coords.byteOffset);
      expect([a.n, a.leafSize, a.nodeCount, a.byteOffset]).toEqual([own.n, own.leafSize, own.nodeCount, offsets[k]]);
      expect(Array.from(a.ids)).toEqual(Array.from(own.ids));
      expect(Array.from(a.boxes)).toEqual(Array.from(own.boxes));
      for (let i = 0; i < qs.length / 3; i++) {
        const [x, y, z] = [qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]];
        const want = own.nearest(x, y, z);
        const wantD = own.lastDist2;
        const wantTie = own.lastTie;
        const tree = i % 2 === 0 ? a : b;
        const got = tree.nearest(x, y, z);
        // A tied query may be answered by another of the tied points (the views start from other leaves).
        if ((got !== want && !wantTie) || tree.lastDist2 !== wantD || tree.lastTie !== wantTie) {
          expect({ k, i, got, d: tree.lastDist2, tie: tree.lastTie }).toEqual({ k, i, got: want, d: wantD, tie: wantTie });
        }
        if (i % 50 === 0) {
          const m = a.knn(x, y, z, 7, outA, dA);
          expect(b.knn(x, y, z, 7, outB, dB)).toBe(m);
          expect(own.knn(x, y, z, 7, outB, dB)).toBe(m);
          expect(Array.from(outA.subarray(0, m))).toEqual(Array.from(outB.subarray(0, m)));
          expect(Array.from(dA.subarray(0, m))).toEqual(Array.from(dB.subarray(0, m)));
        }
      }
    }
  });

  it("refuses misaligned or short slots, and a slot holding no tree", () => {
    const pts = cloud(100, 61);
    const bytes = KdTree.byteLength(100);
    expect(() => new KdTree(pts, 8, new ArrayBuffer(bytes + 8), 4)).toThrow(/multiple of 8/);
    expect(() => new KdTree(pts, 8, new ArrayBuffer(bytes - 8), 0)).toThrow(/overrun/);
    expect(() => KdTree.from(new ArrayBuffer(bytes), 0)).toThrow(/no k-d tree at byte offset 0/);
    const buf = new ArrayBuffer(2 * bytes);
    new KdTree(pts, 8, buf, bytes);
    expect(() => KdTree.from(buf, 8)).toThrow(/no k-d tree at byte offset 8/);
    expect(KdTree.from(buf, bytes).nearest(0, 0, 0)).toBe(new KdTree(pts).nearest(0, 0, 0));
    expect(() => KdTree.from(buf.slice(0, bytes + 16), bytes)).toThrow(/overrun/);
  });
});
