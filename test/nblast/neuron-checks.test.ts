import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { checkCoordinates, checkEnoughPoints, checkPointBudget, estimatePoints, pointWarnings } from "../../src/nblast/neuron-checks.ts";
import { resamplePoints } from "../../src/nblast/resample.ts";
import type { Skeleton } from "../../src/nblast/types.ts";
import { inputError } from "../helpers/input-error.ts";

/** A random forest: node i's parent is an earlier node or none. */
const forest = fc
  .array(
    fc.record({
      parent: fc.double({ min: -0.2, max: 1, maxExcluded: true, noNaN: true }),
      x: fc.double({ min: -50, max: 50, noNaN: true }),
      y: fc.double({ min: -50, max: 50, noNaN: true }),
      z: fc.double({ min: -50, max: 50, noNaN: true }),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((nodes): Skeleton => {
    const n = nodes.length;
    const parent = new Int32Array(n);
    const xyz = new Float64Array(3 * n);
    nodes.forEach((d, i) => {
      parent[i] = i === 0 || d.parent < 0 ? -1 : Math.floor(d.parent * i);
      xyz.set([d.x, d.y, d.z], 3 * i);
    });
    return { ids: Float64Array.from(nodes, (_, i) => i + 1), parent, xyz };
  });

describe("estimatePoints", () => {
  it("is an upper bound on the points resampling gives, for any forest and step", () => {
    fc.assert(
      fc.property(forest, fc.double({ min: 0.05, max: 20, noNaN: true }), (sk, step) => {
        const got = resamplePoints(sk, step).length / 3;
        expect(got).toBeLessThanOrEqual(estimatePoints(sk, step).points);
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it("is the node count without a step, and overflows to Infinity with huge coordinates", () => {
    const sk: Skeleton = { ids: Float64Array.of(1, 2), parent: Int32Array.of(-1, 0), xyz: Float64Array.of(0, 0, 0, 1e300, 1e300, 0) };
    expect(estimatePoints(sk, undefined).points).toBe(2);
    expect(estimatePoints(sk, 1).points).toBe(Infinity);
  });
});

describe("checks", () => {
  it("refuse beyond the budget with the estimate, and accept at it", () => {
    expect(() => checkPointBudget({ points: 100, cable: 99 }, 100, "a.swc", 1)).not.toThrow();
    const e = inputError(() => checkPointBudget({ points: 100.5, cable: 99.5 }, 100, "a.swc", 1));
    expect(e.message).toBe(
      "a.swc: would have about 101 points at --resample 1 (cable 99.50), more than --max-points 100; check the step and the units (nanometre coordinates need --scale 0.001), or raise --max-points",
    );
    expect(inputError(() => checkPointBudget({ points: Infinity, cable: Infinity }, 100, "a.swc", 1)).message).toContain("an unbounded number of points");
    expect(inputError(() => checkPointBudget({ points: 101, cable: NaN }, 100, "p.csv", undefined)).message).toContain("(101 nodes, no resampling)");
  });

  it("refuse coordinates beyond 1e150 or not finite, naming point and axis", () => {
    expect(() => checkCoordinates([0, -1e150, 1e150], "a", 1)).not.toThrow();
    expect(inputError(() => checkCoordinates([0, 0, 0, 1, 2, NaN], "a", 1)).message).toContain("a: point 2 has Z = NaN");
    expect(inputError(() => checkCoordinates([0, -Infinity, 0], "a", 1e3)).message).toContain("point 1 has Y = -Infinity after --scale 1000");
  });

  it("fewer than k points is an error with both counts", () => {
    expect(() => checkEnoughPoints(5, 5, "a")).not.toThrow();
    const e = inputError(() => checkEnoughPoints(1, 5, "a"));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toContain("a: has 1 point, fewer than k = 5");
  });

  it("warn about one node, identical points and nanometre extents, and nothing else", () => {
    expect(pointWarnings([0, 0, 0, 1, 1, 1, 2, 0, 5], 3, 1)).toEqual([]);
    expect(pointWarnings([4, 4, 4], 1, 1)).toEqual(["has a single node: its one point has no tangent to compare"]);
    expect(pointWarnings([1, 2, 3, 1, 2, 3, 1, 2, 3], undefined, 1)).toEqual([
      "all 3 points are identical: tangents are undefined and every score is the same",
    ]);
    const nm = pointWarnings([0, 0, 0, 20_001, 0, 0], 2, 1);
    expect(nm).toEqual(["spans 20,001 units, which looks like nanometres rather than microns: if they are nanometres (CATMAID, FlyWire), add --scale 0.001"]);
    expect(pointWarnings([0, 0, 0, 20_000, 0, 0], 2, 1)).toEqual([]);
    expect(pointWarnings([0, 0, 0, 30_000, 0, 0], 2, 0.5)[0]).toContain("check --scale (0.5 was applied)");
    // a coarser step raises the bound with it: nanometres resampled at 1000 on purpose
    expect(pointWarnings([0, 0, 0, 1e6, 0, 0], 2, 1, 1000)).toEqual([]);
    expect(pointWarnings([0, 0, 0, 30_000, 0, 0], 2, 1, 0.5)).toHaveLength(1);
  });
});
