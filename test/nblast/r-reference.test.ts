/**
 * The engine against real R (nat 1.11.0, nat.nblast 1.6.9, nabor 0.5.1) on the
 * fixtures of test/fixtures/r-reference/: for every fixture set x parameter
 * combination,
 *  - points: parse, scale, simplify, resample give R's points, bit for bit;
 *  - dotprops: computeDotprops of those points gives R's tangents (1 - |dot| <= 1e-12)
 *    and alpha (within 1e-12) at every point (of R's own points for a neuron whose
 *    points differ, so that a preprocessing difference is not counted twice);
 *  - scores from R's own dotprops, every mode with and without alpha, within 1e-12
 *    (relative; absolute near 0): the scoring's nearest-neighbour choice alone;
 *  - scores end to end from the skeletons, the same way: what a user gets.
 * Failures list each differing neuron or mode with counts and the worst case.
 */
import { describe, expect, it } from "vitest";
import {
  compareDotprops,
  comparePoints,
  compareScores,
  projectPoints,
  rConfigs,
  readRDotprops,
  readRScores,
  type RConfig,
} from "../helpers/r-reference.ts";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import type { Dotprops } from "../../src/nblast/types.ts";

const configs = rConfigs();

describe("R reference fixtures", () => {
  it("cover the three sets, k 5 and 20, resample 1 and none, simplify 0 and more", () => {
    expect(new Set(configs.map((c) => c.set))).toEqual(new Set(["fctraces20", "lattice", "voxel8nm"]));
    expect(new Set(configs.map((c) => c.params.k))).toEqual(new Set([5, 20]));
    expect(new Set(configs.map((c) => c.params.resample))).toEqual(new Set([1, undefined]));
    expect(new Set(configs.map((c) => c.params.simplify))).toContain(0);
    for (const c of configs) {
      const dps = readRDotprops(c.set, c.config);
      expect(dps.size, `${c.set}/${c.config}`).toBe(c.neurons);
      expect([...dps.values()].reduce((s, d) => s + d.alpha.length, 0), `${c.set}/${c.config}`).toBe(c.points);
    }
  });
});

const label = (c: RConfig): string => `${c.set}/${c.config}`;

describe.each(configs.map((c) => [label(c), c] as const))("%s against R", (_name, cfg) => {
  const rDotprops = readRDotprops(cfg.set, cfg.config);
  const names = [...rDotprops.keys()];
  // Computed once per config, on first use, and shared by the tests below.
  let ours: { points: Map<string, Float64Array>; dotprops: Map<string, Dotprops> } | undefined;
  const project = (): NonNullable<typeof ours> => {
    if (ours === undefined) {
      const points = new Map(names.map((n) => [n, projectPoints(cfg.set, n, cfg.params)] as const));
      const dotprops = new Map(names.map((n) => [n, computeDotprops(points.get(n)!, cfg.params.k)] as const));
      ours = { points, dotprops };
    }
    return ours;
  };

  it("preprocessing gives R's points, bit for bit", () => {
    const { points } = project();
    const bad = names.map((n) => comparePoints(n, rDotprops.get(n)!.points as Float64Array, points.get(n)!)).filter((d) => d !== undefined);
    expect(bad).toEqual([]);
  });

  it("dotprops give R's tangents and alpha at every point", () => {
    const { points, dotprops } = project();
    const bad = names.map((n) => {
      const r = rDotprops.get(n)!;
      // Where the points differ, compare tangents of the same points: computeDotprops of R's own.
      const same = comparePoints(n, r.points as Float64Array, points.get(n)!) === undefined;
      return compareDotprops(n, r, same ? dotprops.get(n)! : computeDotprops(r.points, cfg.params.k));
    });
    expect(bad.filter((d) => d !== undefined)).toEqual([]);
  });

  it("dotprops of R's points have R's tangent bits at every point (LAPACK's dsyevr)", () => {
    const bad: string[] = [];
    for (const n of names) {
      const r = rDotprops.get(n)!;
      const ours = computeDotprops(r.points, cfg.params.k);
      let differing = 0;
      for (let i = 0; i < r.vect.length; i++) if (!Object.is(ours.vect[i], r.vect[i])) differing++;
      if (differing > 0) bad.push(`${n}: ${differing} of ${r.vect.length} tangent coordinates differ`);
    }
    expect(bad).toEqual([]);
  });

  it("scores from R's dotprops equal R's in every mode, with and without alpha", () => {
    const r = readRScores(cfg.set, cfg.config);
    expect(r.names).toEqual(names);
    expect(compareScores(r, names.map((n) => rDotprops.get(n)!))).toEqual([]);
  });

  it("scores from the skeletons equal R's in every mode, with and without alpha", () => {
    const r = readRScores(cfg.set, cfg.config);
    const { dotprops } = project();
    expect(compareScores(r, names.map((n) => dotprops.get(n)!))).toEqual([]);
  });
});
