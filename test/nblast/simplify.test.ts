import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { simplifySkeleton, simplifyWithReport } from "../../src/nblast/simplify.ts";
import { InputError } from "../../src/nblast/errors.ts";
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

// The same tree without node 8: the root is a tip (one child).
const TIPROOT = TREE.split("\n").filter((l) => !l.startsWith("8 ")).join("\n");

const keptIds = (text: string, n: number): number[] => Array.from(simplifySkeleton(parseSwc(text, "t.swc"), n).ids);

describe("simplifySkeleton (nat's simplify_neuron)", () => {
  // Expected node lists below are what R's nat 1.11.0 (igraph 1.3.5) returns for these
  // skeletons: `simplify_neuron(read.neuron(f), n)$d$PointNo`, run on this machine.

  it("measures the spine from the root: a root with two children is no branch point, and stops the branches", () => {
    // Tip 8 is furthest from the root (100). Every later tail meets the kept path at the
    // root, which is no branch point: nat warns "unable to find a path back to spine".
    expect(keptIds(TREE, 0)).toEqual([1, 8]);
    const r = simplifyWithReport(parseSwc(TREE, "t.swc"), 2);
    expect(Array.from(r.skeleton.ids)).toEqual([1, 8]);
    expect(r.stoppedEarly).toMatch(/unable to find a path back to spine at step: 1/);
    expect(r.droppedTrees).toBe(0);
    // With 3 (all of its branch points) the skeleton comes back unchanged.
    const sk = parseSwc(TREE, "t.swc");
    expect(simplifySkeleton(sk, 3)).toBe(sk);
  });

  it("adds, step by step, the longest unkept tail from the nearest available branch point", () => {
    // The same tree with the long arm removed: the root is a tip. Tips 6 and 9 tie at 25
    // from the root; the first in node order wins.
    expect(keptIds(TIPROOT, 0)).toEqual([1, 2, 4, 6]);
    expect(keptIds(TIPROOT, 1)).toEqual([1, 2, 3, 4, 6]);
    expect(keptIds(TIPROOT, 2)).toEqual([1, 2, 3, 4, 6, 7]);
    expect(keptIds(TIPROOT, 3)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 10]);
  });

  it("keeps parents as indices into the kept nodes", () => {
    const s = simplifySkeleton(parseSwc(TIPROOT, "t.swc"), 1);
    expect(Array.from(s.parent)).toEqual([-1, 0, 1, 1, 3]);
    expect(Array.from(s.xyz.subarray(9, 12))).toEqual([0, 20, 0]);
  });

  it("counts a root with three children as a branch point", () => {
    const star = ["1 1 0 0 0 0 -1", "2 1 1 0 0 0 1", "3 1 0 2 0 0 1", "4 1 0 0 3 0 1", "5 1 0 0 4 0 4", "6 1 0 1 4 0 4"].join("\n");
    expect(keptIds(star, 0)).toEqual([1, 4, 6]);
    expect(keptIds(star, 1)).toEqual([1, 3, 4, 6]);
    expect(keptIds(star, 2)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("joins a tail at the nearest available branch point above it, even past a used-up one", () => {
    // Branch points 2 and 3 sit at the same place.
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
    expect(keptIds(tie, 0)).toEqual([1, 2, 3, 5, 9]);
    expect(keptIds(tie, 1)).toEqual([1, 2, 3, 5, 6, 9]);
    expect(keptIds(tie, 2)).toEqual([1, 2, 3, 4, 5, 6, 7, 9]);
    expect(keptIds(tie, 3)).toEqual([1, 2, 3, 4, 5, 6, 7, 9, 10]);
  });

  it("with several trees does what nat does: the spine leaf from the first column of which.max, the first root's path", () => {
    // TREE first: the first leaf (3) is in the first root's tree, so the spine leaf is the
    // second leaf (6), reached from root 1; every later step finds that leaf again.
    const forest = TREE + "\n20 1 50 0 0 0 -1\n21 1 50 1 0 0 20\n22 1 51 1 0 0 21\n23 1 49 1 0 0 21";
    for (const n of [0, 1, 2]) expect(keptIds(forest, n)).toEqual([1, 2, 4, 6]);
    expect(simplifyWithReport(parseSwc(forest, "f.swc"), 1).droppedTrees).toBe(1);
    // A small tree first: its path is all that is left, and the main tree is dropped.
    const forest2 = "20 1 50 0 0 0 -1\n21 1 50 1 0 0 20\n22 1 51 1 0 0 21\n23 1 49 1 0 0 21\n" + TIPROOT;
    const r = simplifyWithReport(parseSwc(forest2, "f.swc"), 1);
    expect(Array.from(r.skeleton.ids)).toEqual([20, 21, 23]);
    expect(r.droppedTrees).toBe(1);
    expect(r.stoppedEarly).toMatch(/path back to spine/);
  });

  it("fails where nat fails: the spine leaf in another tree than the first root's", () => {
    // Tree 1 is 1-2; the second leaf (6) is in the tree of root 3: igraph finds no path
    // and nat stops with "I can't understand the edges you have given me!".
    const a = ["1 0 0 0 0 1 -1", "2 0 1 0 0 1 1", "3 0 5 0 0 1 -1", "4 0 5 1 0 1 3", "5 0 5 2 0 1 4", "6 0 6 2 0 1 5", "7 0 4 2 0 1 5",
      "8 0 5 3 0 1 5", "9 0 5 4 0 1 8", "10 0 6 4 0 1 9", "11 0 4 4 0 1 9", "12 0 5 5 0 1 9"].join("\n");
    expect(() => simplifySkeleton(parseSwc(a, "a.swc"), 0, "a.swc")).toThrow(InputError);
    expect(() => simplifySkeleton(parseSwc(a, "a.swc"), 1, "a.swc")).toThrow(/a\.swc: .*first root's tree/);
    expect(keptIds(a, 2)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
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
