/**
 * The scoring search against brute force, query by query: the exact least squared distance,
 * the tie flag (another point within TIE_WINDOW of it, never missed), and, untied, the one
 * nearest point. Clouds that make ties: integer grids, an 8 nm voxel grid scaled by 0.008
 * (where equal distances come out of rounding), duplicates; queries along walks, in the
 * tree order of another neuron (as rawScore asks them of a prepared query), and jumping.
 * And rawScore gives the same bits for a query given as dotprops or prepared.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDotpropsCsv } from "../../src/nblast/dotprops-csv.ts";
import { KdTree, TIE_WINDOW } from "../../src/nblast/kdtree.ts";
import { prepareTarget, rawScore, SCORE_LEAF_SIZE } from "../../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";
import { rng } from "../helpers/rng.ts";

function d2(p: ArrayLike<number>, i: number, x: number, y: number, z: number): number {
  const dx = x - p[3 * i];
  const dy = y - p[3 * i + 1];
  const dz = z - p[3 * i + 2];
  return dx * dx + dy * dy + dz * dz;
}

type Cloud = (n: number, seed: number) => Float64Array;

const random: Cloud = (n, seed) => {
  const r = rng(seed);
  return Float64Array.from({ length: 3 * n }, () => (r() - 0.5) * 200);
};
/** A walk on the integer grid: many points at equal distances. */
const gridWalk: Cloud = (n, seed) => {
  const r = rng(seed);
  const p = new Float64Array(3 * n);
  let x = 0, y = 0, z = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.floor(r() * 3);
    const s = r() < 0.5 ? -1 : 1;
    if (a === 0) x += s;
    else if (a === 1) y += s;
    else z += s;
    p.set([x, y, z], 3 * i);
  }
  return p;
};
/** 8 nm voxels scaled to microns (k * 0.008): ties that only some roundings keep. */
const voxelWalk: Cloud = (n, seed) => gridWalk(n, seed).map((v) => (v * 8) / 1000);
const voxelScaled: Cloud = (n, seed) => gridWalk(n, seed).map((v) => v * 0.008);
/** Few distinct positions: duplicates everywhere. */
const duplicates: Cloud = (n, seed) => {
  const r = rng(seed);
  return Float64Array.from({ length: 3 * n }, () => Math.floor(r() * 3));
};

type Queries = (n: number, seed: number, cloud: Cloud) => Float64Array;
/** Another neuron of the same kind, in the order of its own scoring tree. */
const treeOrder: Queries = (n, seed, cloud) => new KdTree(cloud(n, seed), SCORE_LEAF_SIZE).coords;
/** Another neuron of the same kind, in its own order, moved by a grid step (ties stay ties). */
const alongWalk: Queries = (n, seed, cloud) => {
  const p = cloud(n, seed);
  return p.map((v, i) => (i % 3 === 0 ? v + (cloud === random ? 0.5 : 1) : v));
};
/** Random jumps over the whole cloud and beyond: the previous answer says little. */
const jumps: Queries = (n, seed, cloud) => {
  const c = cloud(64, seed + 1);
  const r = rng(seed);
  const lo = Math.min(...c), hi = Math.max(...c);
  return Float64Array.from({ length: 3 * n }, () => lo - 2 + r() * (hi - lo + 4));
};

describe("nearestSlot against brute force", () => {
  const clouds: [string, Cloud][] = [["random", random], ["integer grid walk", gridWalk], ["8 nm voxels", voxelWalk], ["0.008 grid", voxelScaled], ["duplicates", duplicates]];
  const queryKinds: [string, Queries][] = [["in tree order", treeOrder], ["along a walk", alongWalk], ["jumping", jumps]];
  for (const [cname, cloud] of clouds) {
    for (const [qname, make] of queryKinds) {
      it(`${cname}, queries ${qname}`, () => {
        let ties = 0;
        for (const [n, leaf] of [[1, 16], [9, 4], [300, 16], [700, 1], [1500, 16], [1500, 33]] as const) {
          const pts = cloud(n, 10 * n + leaf);
          const tree = new KdTree(pts, leaf);
          const qs = make(400, 7 * n + leaf, cloud);
          for (let i = 0; i < qs.length / 3; i++) {
            const [x, y, z] = [qs[3 * i], qs[3 * i + 1], qs[3 * i + 2]];
            let best = Infinity;
            let bi = -1;
            for (let k = 0; k < n; k++) {
              const d = d2(pts, k, x, y, z);
              if (d < best) {
                best = d;
                bi = k;
              }
            }
            let near = 0;
            for (let k = 0; k < n; k++) if (d2(pts, k, x, y, z) <= best * TIE_WINDOW) near++;
            const tie = near > 1;
            ties += tie ? 1 : 0;
            const got = tree.nearest(x, y, z);
            const ok = tree.lastDist2 === best && tree.lastTie === tie && (tie ? d2(pts, got, x, y, z) === best : got === bi);
            if (!ok) expect({ n, leaf, i, got, d: tree.lastDist2, tie: tree.lastTie }).toEqual({ n, leaf, i, got: bi, d: best, tie });
          }
        }
        // The tie-rich clouds do make ties (so the flag is really tested).
        if (cloud !== random) expect(ties).toBeGreaterThan(50);
      });
    }
  }
});

describe("rawScore of a prepared query", () => {
  const dir = new URL("../fixtures/reference/kcs20/dotprops/", import.meta.url);
  const kcs = readdirSync(dir)
    .filter((f) => f.endsWith(".csv"))
    .sort()
    .slice(0, 8)
    .map((f) => parseDotpropsCsv(readFileSync(new URL(f, dir), "utf8"), f));
  /** Tie-rich dotprops: grid walks with tangents along the walk and alphas in [0, 1]. */
  const gridNeuron = (n: number, seed: number, scale: number): Dotprops => {
    const points = gridWalk(n, seed).map((v) => v * scale);
    const r = rng(seed + 1);
    const vect = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) vect[3 * i + Math.floor(r() * 3)] = r() < 0.5 ? -1 : 1;
    return { points, vect, alpha: Float64Array.from({ length: n }, () => Math.round(r() * 8) / 8) };
  };
  const grid = [gridNeuron(400, 1, 1), gridNeuron(300, 2, 1), gridNeuron(500, 3, 0.008), gridNeuron(200, 4, 0.008)];

  it("gives the same bits as the same query given as dotprops (kcs20 and grid neurons, FCWB and alpha)", () => {
    for (const set of [kcs, grid]) {
      const prepared = set.map((d) => prepareTarget(d));
      for (const [smat, alpha] of [[SMAT_FCWB, false], [SMAT_ALPHA_FCWB, true]] as const) {
        for (let q = 0; q < set.length; q++) {
          for (let t = 0; t < set.length; t++) {
            const a = rawScore(set[q], prepared[t], smat, alpha);
            const b = rawScore(prepared[q], prepared[t], smat, alpha);
            if (!Object.is(a, b)) expect({ q, t, alpha, prepared: b }).toEqual({ q, t, alpha, prepared: a });
          }
        }
      }
    }
  });
});
