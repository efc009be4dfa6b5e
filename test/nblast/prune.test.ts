/**
 * provablyBelow (src/nblast/prune.ts) never prunes a pair whose stored row would pass
 * minScore, in every mode, both directions, FCWB and a custom matrix (fast-check).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boundingBox, ScoreBounds, validForAlpha } from "../../src/nblast/bounds.ts";
import { combineScores, NORMALIZATIONS, type Normalization } from "../../src/nblast/modes.ts";
import { provablyBelow, type PruneSide } from "../../src/nblast/prune.ts";
import { prepareTarget, rawScore, selfScore } from "../../src/nblast/score.ts";
import { SMAT_FCWB, type ScoreMatrix } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";

function walk(n: number, seed: number[], c: [number, number, number]): Dotprops {
  const points = new Float64Array(3 * n), vect = new Float64Array(3 * n), alpha = new Float64Array(n);
  let [x, y, z] = c;
  for (let i = 0; i < n; i++) {
    const s = (k: number): number => seed[(7 * i + k) % seed.length];
    const dx = s(0) + 0.3, dy = s(1), dz = s(2);
    const len = Math.hypot(dx, dy, dz) || 1;
    x += dx; y += dy; z += dz;
    points.set([x, y, z], 3 * i);
    vect.set([dx / len, dy / len, dz / len], 3 * i);
    alpha[i] = Math.abs(s(3)) % 1;
  }
  return { points, vect, alpha };
}

const CUSTOM: ScoreMatrix = { ...SMAT_FCWB, name: "shifted", values: Float64Array.from(SMAT_FCWB.values, (v, i) => v + 0.3 * Math.sin(i)) };

function side(d: Dotprops, smat: ScoreMatrix): PruneSide {
  const p = prepareTarget(d);
  return { points: d.points, box: boundingBox(d.points), tree: p.tree, self: selfScore(d, smat, false, p), validAlpha: validForAlpha(d) };
}

describe("provablyBelow", () => {
  it("prunes only pairs whose rows all fail minScore", () => {
    let prunedSome = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 2, max: 40 }),
        fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 8, maxLength: 40 }),
        fc.tuple(fc.double({ min: -40, max: 40, noNaN: true }), fc.double({ min: -40, max: 40, noNaN: true }), fc.double({ min: -40, max: 40, noNaN: true })),
        fc.constantFrom(...NORMALIZATIONS),
        fc.constantFrom(SMAT_FCWB, CUSTOM),
        fc.double({ min: -0.3, max: 0.3, noNaN: true }),
        fc.boolean(),
        (nq, nt, seed, c, mode: Normalization, smat, minScore, both) => {
          const q = walk(nq, seed, [0, 0, 0]), t = walk(nt, seed.slice().reverse(), c);
          const qs = side(q, smat), ts = side(t, smat);
          const fwd = rawScore(q, prepareTarget(t), smat, false), rev = rawScore(t, prepareTarget(q), smat, false);
          const rows = [combineScores(mode, fwd, rev, qs.self, ts.self)];
          if (both) rows.push(combineScores(mode, rev, fwd, ts.self, qs.self));
          const kept = rows.some((s) => !(s === s) || Math.fround(s) > minScore);
          const pruned = provablyBelow({ bounds: new ScoreBounds(smat), mode, useAlpha: false, minScore, both }, qs, ts);
          if (pruned) prunedSome++;
          expect(pruned && kept).toBe(false);
        },
      ),
      { numRuns: 400, seed: 12 },
    );
    expect(prunedSome).toBeGreaterThan(0);
  });
});
