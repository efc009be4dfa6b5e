import { describe, expect, it } from "vitest";
import { generateFragmentSet } from "../../src/synth/fragments.ts";
import { Rng } from "../../src/synth/rng.ts";
import { generateSwcSet, randomWalkSwc } from "../../src/synth/swc.ts";

describe("Rng", () => {
  it("is deterministic per seed and uniform enough", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 10000 }, () => a.next());
    expect(Array.from({ length: 10000 }, () => b.next())).toEqual(xs);
    expect(new Rng(43).next()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
    const r = new Rng(7);
    const zs = Array.from({ length: 20000 }, () => r.normal());
    const zm = zs.reduce((s, x) => s + x, 0) / zs.length;
    const zv = zs.reduce((s, x) => s + (x - zm) ** 2, 0) / zs.length;
    expect(Math.abs(zm)).toBeLessThan(0.03);
    expect(Math.abs(zv - 1)).toBeLessThan(0.05);
  });
});

describe("generateFragmentSet", () => {
  it("is deterministic from its seed, with distinct integer ids", () => {
    const a = generateFragmentSet(2000, 3);
    expect(generateFragmentSet(2000, 3)).toEqual(a);
    expect(generateFragmentSet(2000, 4)).not.toEqual(a);
    expect(new Set(a.map((x) => x.id)).size).toBe(2000);
    expect(a.every((x) => typeof x.id === "bigint" && x.id > 0n && Number.isSafeInteger(x.points) && x.points >= 2)).toBe(true);
  });

  it("looks like FAFB fragments: >= 10 um, mostly 10-100 um, a tail of several mm", () => {
    const c = generateFragmentSet(30000, 1)
      .map((x) => x.cable)
      .sort((x, y) => x - y);
    const n = c.length;
    const mean = c.reduce((s, x) => s + x, 0) / n;
    expect(c[0]).toBeGreaterThanOrEqual(10);
    expect(c.filter((x) => x < 100).length / n).toBeGreaterThan(0.9);
    expect(c[n >> 1]).toBeGreaterThan(18);
    expect(c[n >> 1]).toBeLessThan(32);
    expect(mean).toBeGreaterThan(30); // CATMAID's FAFBv14 figure: 39 um
    expect(mean).toBeLessThan(55);
    expect(c[n - 1]).toBeGreaterThan(2000);
  });

  it("has about one point per micron", () => {
    for (const x of generateFragmentSet(500, 9)) {
      expect(x.points).toBeGreaterThanOrEqual(Math.round(x.cable));
      expect(x.points).toBeLessThan(x.cable * 1.1 + 3);
    }
  });
});

/** Cable length and structure of SWC text: parents precede children, one root. */
function readSwc(text: string): { nodes: number; cable: number; roots: number } {
  const rows = text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(" ").map(Number));
  const xyz = new Map<number, number[]>();
  let cable = 0;
  let roots = 0;
  for (const [id, , x, y, z, , parent] of rows) {
    if (parent === -1) roots++;
    else {
      const p = xyz.get(parent);
      expect(p).toBeDefined();
      cable += Math.hypot(x - p![0], y - p![1], z - p![2]);
    }
    xyz.set(id, [x, y, z]);
  }
  return { nodes: rows.length, cable, roots };
}

describe("random-walk SWC", () => {
  it("grows a tree with the requested cable, deterministically", () => {
    const text = randomWalkSwc(250, 17);
    expect(randomWalkSwc(250, 17)).toBe(text);
    const s = readSwc(text);
    expect(s.roots).toBe(1);
    expect(Math.abs(s.cable - 250)).toBeLessThan(1); // coordinates are rounded to 0.001
    expect(s.nodes).toBeGreaterThan(150);
    expect(text.split("\n").filter((l) => l.startsWith("#")).length).toBe(2);
  });

  it("writes nanometres on request", () => {
    const s = readSwc(randomWalkSwc(40, 2, { scale: 1000 }));
    expect(Math.abs(s.cable / 1000 - 40)).toBeLessThan(0.05);
  });

  it("generates whole sets", () => {
    const set = generateSwcSet(20, 5, { box: 50 });
    expect(set).toHaveLength(20);
    expect(generateSwcSet(20, 5, { box: 50 })).toEqual(set);
    for (const x of set) expect(Math.abs(readSwc(x.swc).cable - x.cable)).toBeLessThan(1);
  });
});
