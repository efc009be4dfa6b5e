import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NaborTree } from "../../src/nblast/nabor-tree.ts";
import { rng } from "../helpers/rng.ts";

interface KnnCase {
  kind: string;
  points: number[];
  queries: number[];
  knn: Record<string, number[][]>;
}

const fixture = JSON.parse(readFileSync(new URL("../fixtures/libnabo/knn.json", import.meta.url), "utf8")) as { cases: KnnCase[] };

function d2(p: ArrayLike<number>, i: number, x: number, y: number, z: number): number {
  const dx = x - p[3 * i];
  const dy = y - p[3 * i + 1];
  const dz = z - p[3 * i + 2];
  return dx * dx + dy * dy + dz * dz;
}

describe("NaborTree: libnabo's choice among equidistant points", () => {
  it("a hand-made tie, worked out from libnabo's rules", () => {
    // Ten points on the x axis, point i at x = 9 - i. The root cell is x in [0, 9] (and
    // y, z in [0, DBL_MIN]), so the root cuts x at 4.5. The first partition pass swaps
    // from both ends and leaves the index order reversed: the left bucket holds points
    // 9, 8, 7, 6, 5 (x = 0..4) in that order, the right one 4, 3, 2, 1, 0 (x = 5..9).
    const pts = new Float64Array(30);
    for (let i = 0; i < 10; i++) pts[3 * i] = 9 - i;
    const tree = new NaborTree(pts);
    // A query at x = 4.5 is 0.5 from points 5 and 4, 1.5 from 6 and 3. query - cut = 0 is
    // not > 0, so the left bucket is searched first; then the right cell (rd = 0) too.
    // k = 1: point 5 (x = 4) enters first; point 4 ties and is not strictly nearer: kept out.
    expect(tree.nearest(4.5, 0, 0)).toBe(5);
    expect(tree.lastDist2).toBe(0.25);
    // k = 3: left bucket gives 9, 8, 7, 6, 5 -> [5 (0.25), 6 (2.25), 7 (6.25)]; right:
    // point 4 (0.25) goes after the equal 5 -> [5, 4, 6]; point 3 (2.25) is not below 2.25.
    const idx = new Int32Array(3);
    const dist = new Float64Array(3);
    tree.knn(4.5, 0, 0, 3, idx, dist);
    expect(Array.from(idx)).toEqual([5, 4, 6]);
    expect(Array.from(dist)).toEqual([0.25, 0.25, 2.25]);
    // A lowest-index rule would say [4, 5, 3]: the third neighbour and so a tangent change.
  });

  it("answers exactly as libnabo on tie-rich clouds, for k = 1, 5, 20, 30, 35 (both of its heaps)", () => {
    let checked = 0;
    for (const c of fixture.cases) {
      const pts = Float64Array.from(c.points);
      const tree = new NaborTree(pts);
      for (const [ks, answers] of Object.entries(c.knn)) {
        const k = Number(ks);
        const idx = new Int32Array(k);
        const dist = new Float64Array(k);
        answers.forEach((want, i) => {
          const [x, y, z] = [c.queries[3 * i], c.queries[3 * i + 1], c.queries[3 * i + 2]];
          tree.knn(x, y, z, k, idx, dist);
          const got = Array.from(idx);
          if (got.join() !== want.join()) expect({ kind: c.kind, k, query: i, got }).toEqual({ kind: c.kind, k, query: i, got: want });
          for (let j = 0; j < k; j++) expect(dist[j]).toBe(d2(pts, idx[j], x, y, z));
          if (k === 1) {
            expect(tree.nearest(x, y, z)).toBe(want[0]);
            expect(tree.lastDist2).toBe(dist[0]);
          }
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });

  it("returns the k least distances (sorted) on any cloud", () => {
    const r = rng(7);
    for (let t = 0; t < 20; t++) {
      const n = 1 + Math.floor(r() * 300);
      const pts = new Float64Array(3 * n);
      for (let i = 0; i < pts.length; i++) pts[i] = t % 2 ? Math.floor(r() * 5) - 2 : (r() - 0.5) * 50;
      const tree = new NaborTree(Float32Array.from(pts));
      const f32 = Float64Array.from(Float32Array.from(pts));
      for (const k of [1, 4, 29, 30, 64]) {
        if (k > n) continue;
        const idx = new Int32Array(k);
        const dist = new Float64Array(k);
        const [x, y, z] = [(r() - 0.5) * 10, (r() - 0.5) * 10, (r() - 0.5) * 10];
        tree.knn(x, y, z, k, idx, dist);
        const all = Array.from({ length: n }, (_, i) => d2(f32, i, x, y, z)).sort((a, b) => a - b);
        expect(Array.from(dist)).toEqual(all.slice(0, k));
        expect(new Set(idx).size).toBe(k);
      }
    }
  });

  it("refuses what libnabo refuses", () => {
    expect(() => new NaborTree(new Float64Array(0))).toThrow(/no points/);
    expect(() => new NaborTree(new Float64Array(4))).toThrow(/multiple of 3/);
    expect(() => new NaborTree(new Float64Array([0, Infinity, 0]))).toThrow(/non-finite/);
    const tree = new NaborTree(new Float64Array(6));
    expect(() => tree.knn(0, 0, 0, 3, new Int32Array(3), new Float64Array(3))).toThrow(/k = 3 for 2 points/);
  });
});
