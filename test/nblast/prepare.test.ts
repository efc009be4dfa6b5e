import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import { prepareSkeleton, skeletonPoints } from "../../src/nblast/prepare-points.ts";
import { resamplePoints } from "../../src/nblast/resample.ts";
import { segments, topology } from "../../src/nblast/segments.ts";
import { simplifySkeleton } from "../../src/nblast/simplify.ts";
import { cableLength, scaleSkeleton } from "../../src/nblast/skeleton-ops.ts";
import { parseSwc } from "../../src/nblast/swc.ts";

const FC = new URL("../../samples/fctraces20/", import.meta.url);
const fcFiles = readdirSync(FC).filter((f) => f.endsWith(".swc")).sort();
const fc = (f: string): string => readFileSync(new URL(f, FC), "utf8");

const Y = ["1 1 0 0 0 0 -1", "2 1 0 2 0 0 1", "3 1 2.5 2 0 0 2", "4 1 0 2 0.5 0 2"].join("\n");

describe("scaleSkeleton and cableLength", () => {
  it("multiplies coordinates and sums edge lengths", () => {
    const sk = parseSwc(Y, "y.swc");
    expect(cableLength(sk)).toBe(5);
    const nm = scaleSkeleton(sk, 1000);
    expect(Array.from(nm.xyz)).toEqual([0, 0, 0, 0, 2000, 0, 2500, 2000, 0, 0, 2000, 500]);
    expect(nm.parent).toBe(sk.parent);
    expect(cableLength(nm)).toBe(5000);
    expect(cableLength(parseSwc("1 1 0 0 0 0 -1", "one.swc"))).toBe(0);
    expect(() => scaleSkeleton(sk, 0)).toThrow(RangeError);
  });
});

describe("segments (nat's seglist order)", () => {
  it("walks depth-first from the root, children in node order, closing at branch points and tips", () => {
    // root 10 with two children (degree 2, not a branch point) listed out of order
    const sk = parseSwc(["5 1 0 0 1 0 10", "10 1 0 0 0 0 -1", "6 1 0 0 2 0 5", "3 1 1 0 0 0 10", "7 1 0 1 2 0 6", "8 1 1 1 2 0 6"].join("\n"), "s.swc");
    const seg = segments(sk);
    const list = Array.from({ length: seg.start.length - 1 }, (_, s) => Array.from(seg.nodes.subarray(seg.start[s], seg.start[s + 1]), (i) => sk.ids[i]));
    // node order: 5 (index 0) comes before 3 (index 3), so the 5 branch is walked first
    expect(list).toEqual([[10, 5, 6], [6, 7], [6, 8], [10, 3]]);
    expect(Array.from(seg.firstOfTree)).toEqual([1, 0, 0, 0]);
  });

  it("orders trees largest first, ties by first node", () => {
    const sk = parseSwc(["1 1 0 0 0 0 -1", "2 1 0 0 1 0 -1", "3 1 0 0 2 0 2", "4 1 0 0 3 0 -1", "5 1 0 0 4 0 4"].join("\n"), "f.swc");
    const topo = topology(sk);
    expect(Array.from(topo.roots, (i) => sk.ids[i])).toEqual([2, 4, 1]);
    expect(Array.from(topo.treeStart)).toEqual([0, 2, 4, 5]);
  });
});

describe("skeletonPoints", () => {
  it("scales before resampling, so the step is in the scaled unit", () => {
    const nm = parseSwc(["1 1 0 0 0 0 -1", "2 1 3500 0 0 0 1"].join("\n"), "nm.swc");
    const p = skeletonPoints(nm, { scale: 0.001, simplify: undefined, resample: 1 });
    expect(Array.from(p)).toEqual([0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 3.5, 0, 0]);
  });

  it("simplifies before resampling", () => {
    const sk = parseSwc(fc("DvGlutMARCM-F004097_seg001.swc"), "n");
    const p = skeletonPoints(sk, { scale: 1, simplify: 10, resample: 1 });
    expect(p).toEqual(resamplePoints(simplifySkeleton(sk, 10), 1));
    expect(prepareSkeleton(sk, { scale: 1, simplify: 10, resample: 1 }).ids.length).toBeLessThan(sk.ids.length);
  });

  it("returns a copy of the nodes when resample is undefined or 0", () => {
    const sk = parseSwc(Y, "y.swc");
    for (const resample of [undefined, 0]) {
      const p = skeletonPoints(sk, { scale: 1, simplify: undefined, resample });
      expect(p).toEqual(sk.xyz);
      expect(p).not.toBe(sk.xyz);
    }
  });

  it("takes all twenty fctraces20 neurons through parse, resample and dotprops", () => {
    expect(fcFiles).toHaveLength(20);
    for (const f of fcFiles) {
      const sk = parseSwc(fc(f), f);
      const points = skeletonPoints(sk, { scale: 1, simplify: undefined, resample: 1 });
      const n = points.length / 3;
      const cable = cableLength(sk);
      // One point per micron plus, per segment, its two ends in place of a fractional step.
      const nSegments = segments(sk).start.length - 1;
      expect(n, f).toBeGreaterThanOrEqual(Math.floor(cable) - nSegments);
      expect(n, f).toBeLessThanOrEqual(Math.ceil(cable) + 2 * nSegments);
      const dp = computeDotprops(points, 5);
      expect(dp.alpha.length, f).toBe(n);
      for (let i = 0; i < n; i++) {
        const len = Math.hypot(dp.vect[3 * i], dp.vect[3 * i + 1], dp.vect[3 * i + 2]);
        expect(Math.abs(len - 1), f).toBeLessThan(1e-12);
        expect(dp.alpha[i]).toBeGreaterThanOrEqual(0);
        // collinear neighbourhoods give 1 up to rounding
        expect(dp.alpha[i]).toBeLessThanOrEqual(1 + 1e-12);
      }
    }
  });
});
