/**
 * Upper bounds of raw scores (src/nblast/bounds.ts): never below the kernel's score, for
 * random and real pairs, any score matrix, with and without alpha; and tight enough to
 * prove far pairs negative.
 */
import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alwaysCounted, boundingBox, boxGap2, ScoreBounds, validForAlpha } from "../../src/nblast/bounds.ts";
import { parseDotpropsCsv } from "../../src/nblast/dotprops-csv.ts";
import { prepareTarget, rawScore } from "../../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../../src/nblast/smat.ts";
import type { ScoreMatrix } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";

const DEPTHS = [0, 1, 2, 3, 5, 8];

/** Every bound of the pair, each of which must be >= its raw score. */
function bounds(sb: ScoreBounds, q: Dotprops, t: Dotprops, useAlpha: boolean): { raw: number; gap: number; points: number[] } {
  const prepared = prepareTarget(t);
  const raw = rawScore(q, prepared, sb.smat, useAlpha);
  const counted = alwaysCounted(useAlpha, validForAlpha(q), validForAlpha(t));
  const nq = q.alpha.length;
  const gap = sb.gapBound(nq, boundingBox(q.points), boundingBox(t.points), counted);
  const points = DEPTHS.map((d) => sb.pointBound(q.points, prepared.tree, d, counted));
  return { raw, gap, points };
}

function expectAbove(b: { raw: number; gap: number; points: number[] }): void {
  if (!(b.gap >= b.raw) || !b.points.every((p) => p >= b.raw)) expect(b).toEqual({ raw: b.raw, gap: ">= raw", points: ">= raw" });
}

/** A neuron-like random walk of n points around (cx, cy, cz), from fast-check's numbers. */
function walk(n: number, seed: number[], c: [number, number, number], step: number): Dotprops {
  const points = new Float64Array(3 * n);
  const vect = new Float64Array(3 * n);
  const alpha = new Float64Array(n);
  let [x, y, z] = c;
  for (let i = 0; i < n; i++) {
    const s = (k: number): number => seed[(7 * i + k) % seed.length];
    x += (s(0) - 0.5) * step;
    y += (s(1) - 0.5) * step;
    z += (s(2) - 0.5) * step;
    points.set([x, y, z], 3 * i);
    const a = s(3) - 0.5, b = s(4) - 0.5, d = s(5) - 0.5;
    const norm = Math.hypot(a, b, d) || 1;
    vect.set([a / norm, b / norm, d / norm], 3 * i);
    alpha[i] = s(6);
  }
  return { points, vect, alpha };
}

/** A score matrix from fast-check's numbers: increasing breaks, any values. */
function customMatrix(dist: number[], dot: number[], values: number[]): ScoreMatrix {
  const inc = (gaps: number[], start: number): Float64Array => {
    const b = new Float64Array(gaps.length + 1);
    b[0] = start;
    for (let i = 0; i < gaps.length; i++) b[i + 1] = b[i] + gaps[i];
    return b;
  };
  const distBreaks = inc(dist, 0);
  const dotBreaks = inc(dot, 0);
  const n = (distBreaks.length - 1) * (dotBreaks.length - 1);
  return { name: "custom", distBreaks, dotBreaks, values: Float64Array.from({ length: n }, (_, i) => values[i % values.length]) };
}

const unit = fc.double({ min: 0, max: 1, noNaN: true });
const gapArb = fc.double({ min: 0.01, max: 40, noNaN: true });
const pairArb = fc.record({
  nq: fc.integer({ min: 1, max: 120 }),
  nt: fc.integer({ min: 1, max: 120 }),
  seedQ: fc.array(unit, { minLength: 7, maxLength: 40 }),
  seedT: fc.array(unit, { minLength: 7, maxLength: 40 }),
  offset: fc.tuple(fc.double({ min: -150, max: 150, noNaN: true }), fc.double({ min: -150, max: 150, noNaN: true }), fc.double({ min: -60, max: 60, noNaN: true })),
  step: fc.double({ min: 0.1, max: 10, noNaN: true }),
  useAlpha: fc.boolean(),
});

describe("ScoreBounds", () => {
  const fcwb = new ScoreBounds(SMAT_FCWB);
  const alphaFcwb = new ScoreBounds(SMAT_ALPHA_FCWB);

  it("bestCellAtOrBeyond is the best cell of the distance's row and every row past it", () => {
    const cols = SMAT_FCWB.dotBreaks.length - 1;
    const rowMax = (r: number): number => Math.max(...SMAT_FCWB.values.subarray(r * cols, (r + 1) * cols));
    const rows = SMAT_FCWB.distBreaks.length - 1;
    expect(fcwb.bestCellAtOrBeyond(0)).toBe(Math.max(...SMAT_FCWB.values));
    // Every FCWB cell from 12 um on is negative (issue 12): the best at 12 um is row 14's best.
    expect(fcwb.bestCellAtOrBeyond(12)).toBe(Math.max(...Array.from({ length: rows - 14 }, (_, k) => rowMax(14 + k))));
    expect(fcwb.bestCellAtOrBeyond(12)).toBeLessThan(0);
    expect(fcwb.bestCellAtOrBeyond(11.99)).toBeGreaterThan(0);
    expect(fcwb.bestCellAtOrBeyond(1e6)).toBe(rowMax(rows - 1));
  });

  it("boxGap2 is 0 for touching or overlapping boxes and the squared gap otherwise", () => {
    const a = Float64Array.from([0, 0, 0, 1, 1, 1]);
    expect(boxGap2(a, Float64Array.from([1, 0, 0, 2, 1, 1]))).toBe(0);
    expect(boxGap2(a, Float64Array.from([0.5, 0.5, 0.5, 3, 3, 3]))).toBe(0);
    expect(boxGap2(a, Float64Array.from([4, 5, 1, 6, 7, 2]))).toBe(9 + 16);
    expect(boxGap2(Float64Array.from([4, 5, 1, 6, 7, 2]), a)).toBe(9 + 16);
  });

  it("never falls below the raw score of random pairs, FCWB and alpha-FCWB, at any depth", () => {
    fc.assert(
      fc.property(pairArb, (p) => {
        const q = walk(p.nq, p.seedQ, [0, 0, 0], p.step);
        const t = walk(p.nt, p.seedT, p.offset, p.step);
        expectAbove(bounds(p.useAlpha ? alphaFcwb : fcwb, q, t, p.useAlpha));
      }),
      { numRuns: 150, seed: 12 },
    );
  });

  it("never falls below the raw score with custom matrices (all negative, all positive, inexact values)", () => {
    fc.assert(
      fc.property(
        pairArb,
        fc.array(gapArb, { minLength: 1, maxLength: 12 }),
        fc.array(fc.double({ min: 0.01, max: 0.5, noNaN: true }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 1, maxLength: 30 }),
        (p, dist, dot, values) => {
          const smat = customMatrix(dist, dot, values);
          const q = walk(p.nq, p.seedQ, [0, 0, 0], p.step);
          const t = walk(p.nt, p.seedT, p.offset, p.step);
          expectAbove(bounds(new ScoreBounds(smat), q, t, p.useAlpha));
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it("holds where the score is the bound itself: every point in the one best cell, with a value 0.1 that doubles cannot hold", () => {
    for (const v of [0.1, -0.1, 1 / 3, -7.3]) {
      const smat: ScoreMatrix = { name: "flat", distBreaks: Float64Array.from([0, 1e9]), dotBreaks: Float64Array.from([0, 2]), values: Float64Array.from([v]) };
      const sb = new ScoreBounds(smat);
      for (const n of [1, 3, 10, 1001, 4097]) {
        const q = walk(n, [0.1, 0.7, 0.3, 0.9, 0.2, 0.5, 0.4], [0, 0, 0], 1);
        const b = bounds(sb, q, q, false);
        expectAbove(b);
        // ... and it is tight: within a part in 10^10 of the score.
        expect(Math.abs(b.gap - b.raw)).toBeLessThanOrEqual(1e-10 * Math.abs(b.raw));
      }
    }
  });

  it("with alpha, counts dropped points as 0 where inputs may give NaN, and is still above the score", () => {
    const q = walk(50, [0.3, 0.6, 0.1, 0.8, 0.4, 0.2, 0.9, 0.5], [0, 0, 0], 2);
    const t = walk(50, [0.2, 0.5, 0.7, 0.1, 0.9, 0.3, 0.6], [200, 0, 0], 2);
    const bad: Dotprops = { ...t, alpha: t.alpha.map((a, i) => (i % 2 === 0 ? NaN : a)) };
    expect(validForAlpha(t)).toBe(true);
    expect(validForAlpha(bad)).toBe(false);
    expect(validForAlpha({ ...t, vect: t.vect.map((v, i) => (i === 4 ? Infinity : v)) })).toBe(false);
    const b = bounds(alphaFcwb, q, bad, true);
    expectAbove(b);
    // Far apart, every cell is negative: with dropped points possible the bound can only say <= 0.
    expect(b.gap).toBeGreaterThanOrEqual(0);
    const valid = bounds(alphaFcwb, q, t, true);
    expect(valid.gap).toBeLessThan(0);
  });

  it("rejects a depth out of range and a target without points", () => {
    const q = walk(5, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [0, 0, 0], 1);
    const tree = prepareTarget(q).tree;
    expect(() => fcwb.pointBound(q.points, tree, -1)).toThrow(/depth/);
    expect(() => fcwb.pointBound(q.points, tree, 1.5)).toThrow(/depth/);
    const empty = prepareTarget({ points: new Float64Array(0), vect: new Float64Array(0), alpha: new Float64Array(0) }).tree;
    expect(() => fcwb.pointBound(q.points, empty, 1)).toThrow(/no points/);
    expect(fcwb.pointBound(new Float64Array(0), tree, 1)).toBe(0);
  });
});

describe("ScoreBounds on kcs20", () => {
  const dir = new URL("../fixtures/reference/kcs20/dotprops/", import.meta.url);
  const neurons = readdirSync(dir)
    .filter((f) => f.endsWith(".csv"))
    .sort()
    .map((f) => parseDotpropsCsv(readFileSync(new URL(f, dir), "utf8"), f));
  const moved = (d: Dotprops, dx: number, dy: number, dz: number): Dotprops => ({
    ...d,
    points: d.points.map((v, i) => v + (i % 3 === 0 ? dx : i % 3 === 1 ? dy : dz)),
  });

  it("is above every raw score of the all-by-all, with and without alpha, and above the self scores", () => {
    for (const [useAlpha, sb] of [[false, new ScoreBounds(SMAT_FCWB)], [true, new ScoreBounds(SMAT_ALPHA_FCWB)]] as const) {
      for (let i = 0; i < neurons.length; i++) for (let j = 0; j < neurons.length; j++) expectAbove(bounds(sb, neurons[i], neurons[j], useAlpha));
    }
  });

  it("proves moved copies below 0: by the box gap from 12 um apart, by point distances earlier", () => {
    const sb = new ScoreBounds(SMAT_FCWB);
    const q = neurons[0];
    const box = boundingBox(q.points);
    // Moves neurons[1] to start `gap` past the query's box in x.
    const past = (gap: number): Dotprops => moved(neurons[1], box[3] - boundingBox(neurons[1].points)[0] + gap, 0, 0);
    const far = bounds(sb, q, past(12.5), false);
    expectAbove(far);
    expect(far.gap).toBeLessThan(0);
    // 5 um past the box in x: the gap proves nothing, but deeper boxes see that most points are far.
    const near = bounds(sb, q, past(5), false);
    expectAbove(near);
    expect(near.gap).toBeGreaterThan(0);
    expect(near.points.at(-1)!).toBeLessThan(near.points[0]);
    // Bounds only tighten with depth.
    for (let k = 1; k < near.points.length; k++) expect(near.points[k]).toBeLessThanOrEqual(near.points[k - 1] + 1e-9);
  });

  it("pairBound stops at the first bound below the threshold", () => {
    const sb = new ScoreBounds(SMAT_FCWB);
    const q = neurons[0];
    const box = boundingBox(q.points);
    const t = prepareTarget(moved(neurons[1], box[3] - boundingBox(neurons[1].points)[0] + 20, 0, 0));
    const b = sb.pairBound(q.points, box, t.tree, 0, 6);
    expect(b).toBe(sb.gapBound(q.alpha.length, box, t.tree.boxes.subarray(0, 6)));
    expect(b).toBeLessThan(0);
    const self = prepareTarget(q);
    const raw = rawScore(q, self, SMAT_FCWB, false);
    expect(sb.pairBound(q.points, box, self.tree, 0, 6)).toBeGreaterThanOrEqual(raw);
  });
});
