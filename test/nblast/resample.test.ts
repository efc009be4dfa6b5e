import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resamplePoints } from "../../src/nblast/resample.ts";
import { simplifySkeleton } from "../../src/nblast/simplify.ts";
import { cableLength } from "../../src/nblast/skeleton-ops.ts";
import { parseSwc } from "../../src/nblast/swc.ts";

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8");
const sample = (path: string): string => readFileSync(new URL(`../../samples/${path}`, import.meta.url), "utf8");
const swc = (rows: string[]): string => rows.join("\n");
const points = (a: Float64Array): number[][] => Array.from({ length: a.length / 3 }, (_, i) => Array.from(a.subarray(3 * i, 3 * i + 3)));

describe("resamplePoints (nat's resample)", () => {
  it("puts points every step along a straight line and keeps both ends", () => {
    const sk = parseSwc(swc(["1 2 0 0 0 0 -1", "2 2 2 0 0 0 1", "3 2 3.5 0 0 0 2"]), "line.swc");
    expect(points(resamplePoints(sk, 1))).toEqual([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0], [3.5, 0, 0]]);
  });

  it("drops the new point that would land on the far end", () => {
    const sk = parseSwc(swc(["1 2 0 0 0 0 -1", "2 2 0 0.5 0 0 1", "3 2 0 3 0 0 2"]), "line.swc");
    expect(points(resamplePoints(sk, 1))).toEqual([[0, 0, 0], [0, 1, 0], [0, 2, 0], [0, 3, 0]]);
  });

  it("resamples each segment of a Y on its own; a segment shorter than the step stays as it is", () => {
    // root -> branch point (length 2) -> tip A (2.5) and tip B (0.5)
    const sk = parseSwc(swc(["1 1 0 0 0 0 -1", "2 1 0 2 0 0 1", "3 1 2.5 2 0 0 2", "4 1 0 2 0.5 0 2"]), "y.swc");
    expect(points(resamplePoints(sk, 1))).toEqual([[0, 0, 0], [0, 1, 0], [0, 2, 0], [1, 2, 0], [2, 2, 0], [2.5, 2, 0], [0, 2, 0.5]]);
  });

  it("keeps the interior points of a segment no longer than the step", () => {
    const rows = ["1 1 0 0 0 0 -1", "2 1 0.3 0 0 0 1", "3 1 0.3 0.4 0 0 2", "4 1 0.3 0.4 0.3 0 3"];
    expect(points(resamplePoints(parseSwc(swc(rows), "s.swc"), 1))).toEqual([[0, 0, 0], [0.3, 0, 0], [0.3, 0.4, 0], [0.3, 0.4, 0.3]]);
    // length exactly the step: kept as it is too
    expect(points(resamplePoints(parseSwc(swc(rows), "s.swc"), 1 + 1e-16))).toHaveLength(4);
  });

  it("handles several trees and unordered ids: largest tree first, a lone node last", () => {
    const sk = parseSwc(
      swc([
        "42 1 10 0 0 0 7",
        "7 1 10 0 3 0 -1",
        "5 1 0 0 0 0 -1",
        "3 1 0 0 1.5 0 5",
        "10 1 0 0 2.5 0 3",
        "99 1 50 50 50 0 -1",
        "11 1 0.4 0 2.5 0 10",
      ]),
      "multi.swc",
    );
    // R gives exactly this (0.4 is the double nearest 0.4, as in the file).
    expect(points(resamplePoints(sk, 1))).toEqual([
      [0, 0, 0], [0, 0, 1], [0, 0, 2], [0.4, 0, 2.5],
      [10, 0, 3], [10, 0, 2], [10, 0, 1], [10, 0, 0],
      [50, 50, 50],
    ]);
  });

  it("steps over zero-length edges as R's approx does", () => {
    const sk = parseSwc(swc(["1 1 0 0 0 0 -1", "2 1 0.3 0 0 0 1", "3 1 0.3 0 0 0 2", "4 1 0.3 0.4 0 0 3", "5 1 0.3 0.4 0 0 4", "6 1 0.3 2.4 0 0 5"]), "z.swc");
    const p = resamplePoints(sk, 1);
    // R: 0.70000000000000007 and 1.70000000000000018
    expect(p).toEqual(new Float64Array([0, 0, 0, 0.3, 0.7000000000000001, 0, 0.3, 1.7000000000000002, 0, 0.3, 2.4, 0]));
  });

  it("rejects a step that is not positive", () => {
    const sk = parseSwc("1 1 0 0 0 0 -1", "one.swc");
    expect(() => resamplePoints(sk, 0)).toThrow(RangeError);
    expect(() => resamplePoints(sk, Number.NaN)).toThrow(RangeError);
    expect(points(resamplePoints(sk, 1))).toEqual([[0, 0, 0]]);
  });

  it("matches R's nat to the last bit on real neurons", () => {
    const rows = fixture("nat-reference/resample.csv").trim().split("\n").slice(1).map((l) => l.split(","));
    const groups = new Map<string, number[]>();
    for (const [neuron, step, simplify, x, y, z] of rows) {
      const key = `${neuron},${step},${simplify}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(Number(x), Number(y), Number(z));
    }
    expect(groups.size).toBe(3);
    for (const [key, expected] of groups) {
      const [neuron, step, simplify] = key.split(",");
      let sk = parseSwc(sample(`fctraces20/${neuron}.swc`), neuron);
      if (simplify !== "") sk = simplifySkeleton(sk, Number(simplify));
      const got = resamplePoints(sk, Number(step));
      expect(got.length, key).toBe(expected.length);
      let differing = 0;
      for (let i = 0; i < got.length; i++) if (!Object.is(got[i], expected[i])) differing++;
      expect(differing, key).toBe(0);
    }
  });

  it("gives about one point per micron of cable on real neurons", () => {
    const sk = parseSwc(sample("fctraces20/FruMARCM-M001022_seg003.swc"), "n");
    const n = resamplePoints(sk, 1).length / 3;
    const cable = cableLength(sk);
    expect(n).toBeGreaterThan(cable);
    expect(n).toBeLessThan(cable * 1.1);
  });
});
