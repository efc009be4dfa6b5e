import { describe, expect, it } from "vitest";
import { KdTree } from "../../src/nblast/kdtree.ts";

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function d2(p: ArrayLike<number>, i: number, x: number, y: number, z: number): number {
  const dx = x - p[3 * i];
  const dy = y - p[3 * i + 1];
  const dz = z - p[3 * i + 2];
  return dx * dx + dy * dy + dz * dz;
}

/** Brute force with the documented tie rule: lowest original index wins. */
function bruteNearest(p: ArrayLike<number>, x: number, y: number, z: number): [number, number] {
  let best = Infinity;
  let bi = -1;
  for (let i = 0; i < p.length / 3; i++) {
    const d = d2(p, i, x, y, z);
    if (d < best) {
      best = d;
      bi = i;
    }
  }
  return [bi, best];
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
    it(`matches brute force exactly: ${name}`, () => {
      for (const leafSize of [1, 3, 8, 32]) {
        const tree = new KdTree(pts, leafSize);
        for (let i = 0; i < qs.length / 3; i++) {
          const [x, y, z] = [qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]];
          const [bi, bd] = bruteNearest(pts, x, y, z);
          const got = tree.nearest(x, y, z);
          if (got !== bi || tree.lastDist2 !== bd) {
            expect({ leafSize, query: i, got, dist2: tree.lastDist2 }).toEqual({ leafSize, query: i, got: bi, dist2: bd });
          }
        }
      }
    });
  }

  it("breaks ties by lowest original index, whatever was asked before", () => {
    // Five points at the same distance from the origin.
    const pts = new Float64Array([0, 0, 5, 5, 0, 0, 0, -5, 0, -5, 0, 0, 0, 5, 0]);
    const tree = new KdTree(pts, 1);
    for (const [x, y, z, want] of [[100, 0, 0, 1], [0, 0, 0, 0], [0, 100, 0, 4], [0, 0, 0, 0], [-100, 0, 0, 3], [0, 0, 0, 0]]) {
      expect(tree.nearest(x, y, z)).toBe(want);
    }
    expect(tree.lastDist2).toBe(25);
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
      const [bi, bd] = bruteNearest(pts, qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]);
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
