import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { simplifySkeleton } from "../../src/nblast/simplify.ts";
import { parseSwc } from "../../src/nblast/swc.ts";

const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8");
const sample = (path: string): string => readFileSync(new URL(`../../samples/${path}`, import.meta.url), "utf8");

// Root 1 has two children: 2 (branch point A) and 8, a long arm of 100 with no branch
// point. A: tip 3 (8 from A), tip 7 (6 from A), branch point B 10 further on.
// B: tip 6 (5 from B), branch point C 3 further on; C: tips 9 (2) and 10 (1).
const TREE = [
  "1 1 0 0 0 0 -1",
  "2 1 0 10 0 0 1",
  "3 1 8 10 0 0 2",
  "4 1 0 20 0 0 2",
  "5 1 -3 20 0 0 4",
  "6 1 0 25 0 0 4",
  "7 1 0 10 6 0 2",
  "8 1 0 -100 0 0 1",
  "9 1 -3 22 0 0 5",
  "10 1 -4 20 0 0 5",
].join("\n");

const keptIds = (text: string, n: number): number[] => Array.from(simplifySkeleton(parseSwc(text, "t.swc"), n).ids);

describe("simplifySkeleton (nat's simplify_neuron)", () => {
  it("keeps the spine: the leaf furthest from its topmost branch point, not from the root", () => {
    // Tip 8 is furthest from the root but has no branch point above it. Tips 6 and 9
    // tie at 15 from A; the first in node order wins.
    expect(keptIds(TREE, 0)).toEqual([1, 2, 4, 6]);
  });

  it("adds the branch that is longest from the nearest branch point already on the tree", () => {
    // Available: A (tips 3: 8, 7: 6) and B (tip 9 via C: 5, tip 10: 4).
    expect(keptIds(TREE, 1)).toEqual([1, 2, 3, 4, 6]);
    expect(keptIds(TREE, 2)).toEqual([1, 2, 3, 4, 6, 7]);
  });

  it("returns the skeleton unchanged when it has no more than n branch points", () => {
    const sk = parseSwc(TREE, "t.swc");
    expect(simplifySkeleton(sk, 3)).toBe(sk);
    expect(simplifySkeleton(sk, 10)).toBe(sk);
  });

  it("keeps parents as indices into the kept nodes", () => {
    const s = simplifySkeleton(parseSwc(TREE, "t.swc"), 1);
    expect(Array.from(s.parent)).toEqual([-1, 0, 1, 1, 3]);
    expect(Array.from(s.xyz.subarray(9, 12))).toEqual([0, 20, 0]);
  });

  it("counts a root with three children as a branch point", () => {
    const star = ["1 1 0 0 0 0 -1", "2 1 1 0 0 0 1", "3 1 0 2 0 0 1", "4 1 0 0 3 0 1", "5 1 0 0 4 0 4", "6 1 0 1 4 0 4"].join("\n");
    // Branch points: root (3 children) and 4. Spine: root -> 4 -> 6 (the longest from the root).
    expect(keptIds(star, 0)).toEqual([1, 4, 6]);
    // Root still has unused children: tip 3 (2) beats tip 2 (1) and tip 5 (0... from 4: 1).
    expect(keptIds(star, 1)).toEqual([1, 3, 4, 6]);
  });

  it("starts a branch at the first of two equally near branch points (R's which.min)", () => {
    // Branch points 2 and 3 sit at the same place. Tip 6 is 3 from both; starting at 2
    // uses up 2, so the next branch comes from 5 (tip 10), not from 2 (tip 7). R agrees,
    // and with n = 3 nothing is left to add.
    const tie = [
      "1 1 0 0 0 0 -1",
      "2 1 0 10 0 0 1",
      "3 1 0 10 0 0 2",
      "4 1 1 10 0 0 2",
      "5 1 0 20 0 0 3",
      "6 1 0 10 3 0 3",
      "7 1 1 11 0 0 4",
      "8 1 1 9.5 0 0 4",
      "9 1 0 30 0 0 5",
      "10 1 2 20 0 0 5",
    ].join("\n");
    expect(keptIds(tie, 1)).toEqual([1, 2, 3, 5, 6, 9]);
    expect(keptIds(tie, 2)).toEqual([1, 2, 3, 5, 6, 9, 10]);
    expect(keptIds(tie, 3)).toEqual([1, 2, 3, 5, 6, 9, 10]);
  });

  it("with several trees follows the chosen leaf's own tree and drops the others", () => {
    const forest = TREE + "\n20 1 50 0 0 0 -1\n21 1 50 1 0 0 20\n22 1 51 1 0 0 21\n23 1 49 1 0 0 21";
    expect(keptIds(forest, 0)).toEqual([1, 2, 4, 6]);
  });

  it("rejects a negative or fractional count", () => {
    const sk = parseSwc(TREE, "t.swc");
    expect(() => simplifySkeleton(sk, -1)).toThrow(RangeError);
    expect(() => simplifySkeleton(sk, 1.5)).toThrow(RangeError);
  });

  it("keeps the same nodes as R's nat on all twenty fctraces20 neurons", () => {
    const rows = fixture("nat-reference/simplify.csv").trim().split("\n").slice(1);
    expect(rows).toHaveLength(60);
    for (const row of rows) {
      const [neuron, n, ids] = row.split(",");
      const got = keptIds(sample(`fctraces20/${neuron}.swc`), Number(n));
      expect(got.join(" "), `${neuron} n=${n}`).toBe(ids);
    }
  });
});
