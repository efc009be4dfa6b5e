/**
 * plan --estimate: candidate pairs through the box index equal a brute-force count, the
 * prune distance follows the score matrix and the storage rule, the report's figures fit
 * together, and the CLI writes nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../../src/nblast/smat.ts";
import { countCandidates, pruneDistanceOf, sampleIndices, type SpatialNeurons } from "../../src/plan/candidates.ts";
import { calibrate } from "../../src/plan/calibrate.ts";
import { estimate } from "../../src/plan/estimate.ts";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import { FAFB_FRAGMENTS, generateFragmentSet, randomWalkSwc, Rng } from "../../src/synth/index.ts";
import { runCli } from "../helpers/cli.ts";

/** Ordered pairs with 3-D box gap below d, by looking at all of them. */
function bruteForce(n: SpatialNeurons, q: Int32Array, t: Int32Array, d: number, sameSet: boolean): { pairs: number; queries: number } {
  const b = n.boxes;
  let pairs = 0, queries = 0;
  for (const i of q) {
    for (const j of t) {
      if (sameSet && i === j) continue;
      let g2 = 0;
      for (let a = 0; a < 3; a++) {
        const g = Math.max(0, b[6 * j + a] - b[6 * i + 3 + a], b[6 * i + a] - b[6 * j + 3 + a]);
        g2 += g * g;
      }
      if (g2 < d * d) {
        pairs++;
        queries += n.points[i];
      }
    }
  }
  return { pairs, queries };
}

const boxesArb = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 2, max: 500 })),
  { minLength: 1, maxLength: 120 },
);

function spatial(rows: [number, number, number, number, number][]): SpatialNeurons {
  const boxes = new Float64Array(6 * rows.length);
  const points = new Uint32Array(rows.length);
  rows.forEach(([x, y, z, s, p], i) => {
    boxes.set([x, y, z, x + s, y + s * 0.7, z + s * 0.3], 6 * i);
    points[i] = p;
  });
  return { boxes, points };
}

describe("candidate pairs", () => {
  it("the prune distance is where the score matrix turns negative, and only for a rule that drops negative scores", () => {
    expect(pruneDistanceOf(SMAT_FCWB, { minScore: 0 }, "mean")).toBe(12);
    expect(pruneDistanceOf(SMAT_FCWB, { minScore: 0 }, "raw")).toBe(12);
    expect(pruneDistanceOf(SMAT_ALPHA_FCWB, { minScore: 0.01 }, "normalized")).toBeGreaterThan(0);
    expect(pruneDistanceOf(SMAT_FCWB, { minScore: undefined }, "raw")).toBe(Infinity);
    expect(pruneDistanceOf(SMAT_FCWB, { minScore: -1 }, "raw")).toBe(Infinity);
    // a negative cell at distance 0 could make a self score negative: a negative raw
    // score divided by it is positive, so only raw scores may be ruled out by distance
    const values = Float64Array.from(SMAT_FCWB.values);
    values[0] = -1;
    const odd = { ...SMAT_FCWB, values };
    expect(pruneDistanceOf(odd, { minScore: 0 }, "raw")).toBe(12);
    expect(pruneDistanceOf(odd, { minScore: 0 }, "normalized")).toBe(Infinity);
    expect(pruneDistanceOf(odd, { minScore: 0 }, "mean")).toBe(Infinity);
  });

  it("property: the index finds exactly the pairs a brute-force scan finds (all-by-all and query/target sets)", () => {
    fc.assert(
      fc.property(boxesArb, fc.double({ min: 0.5, max: 40, noNaN: true }), fc.boolean(), (rows, d, split) => {
        const n = spatial(rows);
        const all = Int32Array.from(rows.keys());
        const q = split ? all.filter((i) => i % 3 === 0) : all;
        const t = split ? all.filter((i) => i % 2 === 0) : all;
        const c = countCandidates(n, { queries: q, targets: t, sameSet: !split, pruneDistance: d });
        const want = bruteForce(n, q, t, d, !split);
        expect(c.candidatePairs).toBe(want.pairs);
        expect(c.candidateQueries).toBe(want.queries);
        expect(c.countedQueries).toBe(q.length);
        expect(c.allPairs).toBe(split ? q.length * t.length : q.length * (q.length - 1));
      }),
      { numRuns: 150 },
    );
  });

  it("scales a sample of queries, and counts everything when nothing can be ruled out", () => {
    const rng = new Rng(5);
    const rows = Array.from({ length: 3000 }, () => [rng.int(600), rng.int(300), rng.int(200), 5 + rng.int(30), 20 + rng.int(80)] as [number, number, number, number, number]);
    const n = spatial(rows);
    const all = Int32Array.from(rows.keys());
    const exact = countCandidates(n, { queries: all, targets: all, sameSet: true, pruneDistance: 12 });
    const sampled = countCandidates(n, { queries: all, targets: all, sameSet: true, pruneDistance: 12, sample: 600 });
    expect(sampled.countedQueries).toBe(600);
    expect(Math.abs(sampled.candidatePairs / exact.candidatePairs - 1)).toBeLessThan(0.15);
    expect(exact.candidatePairs).toBeLessThan(exact.allPairs / 20);
    const none = countCandidates(n, { queries: all, targets: all, sameSet: true, pruneDistance: Infinity });
    expect(none.candidatePairs).toBe(none.allPairs);
    expect(none.candidateQueries).toBe(none.allQueries);
  });

  it("samples distinct sorted positions deterministically", () => {
    const a = sampleIndices(1000, 50, 3);
    expect(Array.from(a)).toEqual(Array.from(sampleIndices(1000, 50, 3)));
    expect(new Set(a).size).toBe(50);
    expect(Array.from(a)).toEqual(Array.from(a).sort((x, y) => x - y));
    expect(a.every((x) => x >= 0 && x < 1000)).toBe(true);
    expect(Array.from(sampleIndices(4, 9, 1))).toEqual([0, 1, 2, 3]);
  });
});

describe("estimate", () => {
  it("times a sample of pairs and turns counts into core-hours that add up", () => {
    const rng = new Rng(9);
    const dotprops = Array.from({ length: 12 }, (_, i) => {
      const o = [rng.next() * 30, rng.next() * 30, rng.next() * 30] as const;
      const swc = randomWalkSwc(40, 100 + i, { origin: [o[0], o[1], o[2]] });
      const xyz = swc
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .flatMap((l) => l.split(" ").slice(2, 5).map(Number));
      return computeDotprops(Float64Array.from(xyz));
    });
    const pairs = Int32Array.from(Array.from({ length: 12 * 11 }, (_, k) => [Math.floor(k / 11), (Math.floor(k / 11) + 1 + (k % 11)) % 12]).flat());
    const cal = calibrate({ dotprops, pairs, smat: SMAT_FCWB, normalization: "normalized", useAlpha: false, minScore: 0, seconds: 0.2, farPairs: pairs });
    expect(cal.pairs).toBe(132);
    expect(cal.secondsPerFarPair).toBeGreaterThan(0);
    expect(cal.pruned).toBeGreaterThanOrEqual(0);
    expect(cal.secondsPerPair).toBeGreaterThan(0);
    expect(cal.secondsPerTreePoint).toBeGreaterThan(0);
    const counts = { allPairs: 1e6, candidatePairs: 1e4, allQueries: 5e7, candidateQueries: 5e5, countedQueries: 1000, pruneDistance: 12 };
    const e = estimate({ counts, calibration: cal, queries: 1000, targets: 1000, targetPoints: 5e4, selfPoints: 5e4, bins: 4, pairing: "forward", spotPrice: 0.03 });
    expect(e.coreHours.total).toBeCloseTo(e.coreHours.pairs + e.coreHours.far + e.coreHours.trees + e.coreHours.selfs, 12);
    expect(e.coreHours.pairs).toBeCloseTo((1e4 * cal.secondsPerPair) / 3600, 12);
    expect(e.coreHours.far).toBeCloseTo(((1e6 - 1e4) * cal.secondsPerFarPair) / 3600, 12);
    expect(e.coreHours.trees).toBeCloseTo((4 * 5e4 * cal.secondsPerTreePoint) / 3600, 12);
    expect(e.spotUsd).toBeCloseTo(e.coreHours.total * 0.03, 12);
    expect(e.searchedQueries).toBeLessThanOrEqual(5e5);
    const unordered = estimate({ counts, calibration: cal, queries: 1000, targets: 1000, targetPoints: 5e4, selfPoints: 0, bins: 4, pairing: "unordered", spotPrice: 0.03 });
    expect(unordered.coreHours.pairs).toBeCloseTo(e.coreHours.pairs / 2, 12);
    // In space order only the planned tiles' other pairs meet the box test.
    const spaceOrder = { plannedPairs: 5e4, allPairs: 1e6, groups: 32, groupSize: 32, liveColumnsPerRow: 2, countedGroups: 32 };
    const spatial = estimate({ counts, calibration: cal, queries: 1000, targets: 1000, targetPoints: 5e4, selfPoints: 5e4, bins: 4, pairing: "forward", spotPrice: 0.03, spaceOrder });
    expect(spatial.coreHours.far).toBeCloseTo(((5e4 - 1e4) * cal.secondsPerFarPair) / 3600, 12);
    expect(spatial.coreHours.pairs).toBe(e.coreHours.pairs);
    // A bin of 8 rows with 2 live column groups of 32 each holds at most 512 targets' trees.
    expect(spatial.coreHours.trees).toBeCloseTo((4 * 512 * 50 * cal.secondsPerTreePoint) / 3600, 12);
    expect(spatial.treeBytesPerBin).toBeCloseTo((e.treeBytesPerBin * 512) / 1000, 6);
  });
});

describe("plan --estimate", () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "nbf-estimate-"));
    const swc = join(root, "swc");
    mkdirSync(swc);
    const rng = new Rng(21);
    // 60 fragments in a 300 um cube: most pairs far apart, some close
    for (const f of generateFragmentSet(60, 4, FAFB_FRAGMENTS)) {
      writeFileSync(join(swc, `${f.id}.swc`), randomWalkSwc(Math.min(f.cable, 150), Number(f.id), { origin: [rng.next() * 300, rng.next() * 300, rng.next() * 300] }));
    }
    const r = runCli(["cache", "build", "--input", swc, "--out", join(root, "cache")]);
    expect(r.status, r.stderr).toBe(0);
  }, 60_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("prints candidates, queries, core-hours and Spot cost, and writes nothing", () => {
    const r = runCli(["plan", "--cache", join(root, "cache"), "--estimate", "--calibrate-seconds", "0.2", "--spot-price", "0.05"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^60 queries x 60 targets: 3,540 ordered pairs$/m);
    const m = /candidate pairs: ([\d,]+) \(([\d.]+)%\): boxes closer than 12 um/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1].replace(/,/g, ""))).toBeLessThan(3540);
    expect(r.stdout).toMatch(/calibration on this machine, 1 thread: \d+ candidate pairs of the run's own neurons/);
    expect(r.stdout).toMatch(/nearest-neighbour queries expected: [\d,]+ \([\d.]+x fewer than the full all-by-all's [\d,]+\)/);
    const so = /plan in space order: ([\d,]+) ordered pairs in the \d+ x \d+ tiles that hold a candidate; ([\d,]+) \([\d.]+%\) never planned/.exec(r.stdout);
    expect(so, r.stdout).not.toBeNull();
    const planned = Number(so![1].replace(/,/g, ""));
    expect(planned).toBeGreaterThanOrEqual(Number(m![1].replace(/,/g, "")));
    expect(planned + Number(so![2].replace(/,/g, ""))).toBe(3540);
    expect(r.stdout).toMatch(/core-hours: \S+ \(candidate pairs \S+, ruling out the other pairs of the planned tiles by their boxes \S+, target trees \S+ and self scores \S+ over 16 bins\)/);
    // --no-spatial: every pair is in a bin and meets the box test there.
    const flat = runCli(["plan", "--cache", join(root, "cache"), "--estimate", "--calibrate-seconds", "0.1", "--no-spatial"]);
    expect(flat.status, flat.stderr).toBe(0);
    expect(flat.stdout).not.toContain("plan in space order");
    expect(flat.stdout).toMatch(/core-hours: \S+ \(candidate pairs \S+, ruling out the other pairs by their boxes \S+/);
    expect(r.stdout).toMatch(/AWS Spot at \$0\.05 per vCPU-hour: about \$\d/);
    // with --keep-all nothing is ruled out by distance
    const top = runCli(["plan", "--cache", join(root, "cache"), "--estimate", "--calibrate-seconds", "0.1", "--keep-all"]);
    expect(top.status, top.stderr).toBe(0);
    expect(top.stdout).toMatch(/candidate pairs: all of them/);
    expect(existsSync(join(root, "cache", "manifest.json"))).toBe(false);
  }, 60_000);

  it("refuses --out with --estimate, and plan without either", () => {
    const both = runCli(["plan", "--cache", join(root, "cache"), "--estimate", "--out", join(root, "run")]);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/plan --estimate writes nothing: leave out --out/);
    expect(existsSync(join(root, "run"))).toBe(false);
    const neither = runCli(["plan", "--cache", join(root, "cache")]);
    expect(neither.status).toBe(2);
    expect(neither.stderr).toMatch(/plan needs --out RUN_URI/);
  }, 30_000);
});
