import { describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { catmaidGroupCount, formatCostSummary, planBins, summarizeCost } from "../../src/plan/bins.ts";
import { DEFAULT_COST_MODEL, log2q } from "../../src/plan/cost.ts";
import { selectNeurons, type Selection } from "../../src/plan/select.ts";
import { isSymmetric, type Normalization, type PlanNeuron, type WorkPlan } from "../../src/plan/types.ts";
import { forEachPair, planBinWork } from "../../src/plan/work.ts";
import { generateFragmentSet } from "../../src/synth/fragments.ts";

const set = (n: number, seed = 1): PlanNeuron[] => generateFragmentSet(n, seed);

/** Every pair each bin owns; fails on an empty bin. */
function pairsByBin(plan: WorkPlan, mode: Normalization): string[][] {
  return plan.bins.map((_, b) => {
    const out: string[] = [];
    forEachPair(planBinWork(plan, mode, b), (q, t) => out.push(`${q}>${t}`));
    return out;
  });
}

/** The pairs a run must compute, each exactly once. */
function expectedPairs(sel: Selection, keepSelf: boolean, layout: string): string[] {
  const out: string[] = [];
  for (const q of sel.queries) {
    for (const t of sel.targets) {
      if (q.id === t.id && !keepSelf) continue;
      // upper: each unordered pair once, as (lower position, higher position)
      if (layout === "upper" && t.id < q.id) continue;
      out.push(`${q.id}>${t.id}`);
    }
  }
  return out.sort();
}

function checkCoverage(sel: Selection, mode: Normalization, keepSelf: boolean, bins: number, balance: "cost" | "cable" = "cost"): WorkPlan {
  const plan = planBins(sel, { bins, normalization: mode, keepSelf, balance });
  expect(plan.bins.length).toBe(bins);
  expect(plan.layout).toBe(balance === "cost" && isSymmetric(mode) && sel.sameSet ? "upper" : "rows");
  const byBin = pairsByBin(plan, mode);
  for (const pairs of byBin) expect(pairs.length).toBeGreaterThan(0);
  const all = byBin.flat().sort();
  expect(all).toEqual(expectedPairs(sel, keepSelf, plan.layout));
  return plan;
}

/** A bin's cost recomputed pair by pair from the model (docs/plan.md). */
function bruteCost(plan: WorkPlan, sel: Selection, mode: Normalization, b: number): number {
  const c = DEFAULT_COST_MODEL.queryOverhead;
  const pts = new Map<bigint, number>();
  for (const x of [...sel.queries, ...sel.targets]) pts.set(x.id, x.points);
  const search = (id: bigint): number => log2q(pts.get(id)!) + c;
  const tree = (id: bigint): number => DEFAULT_COST_MODEL.treeBuild * pts.get(id)! * log2q(pts.get(id)!);
  const self = (id: bigint): number => pts.get(id)! * search(id);
  const sym = isSymmetric(mode);
  const targets = plan.targets === "queries" ? plan.queries : plan.targets;
  let w = 0;
  const rows = new Set<bigint>();
  const cols = new Set<bigint>();
  for (const k of plan.bins[b].blocks) {
    for (let i = k.rows[0]; i < k.rows[1]; i++) {
      for (let j = k.cols[0]; j < k.cols[1]; j++) {
        if (plan.layout === "upper" && i > j - (plan.diagonal ? 1 : 0)) continue;
        rows.add(plan.queries[i]);
        cols.add(targets[j]);
        if (plan.layout === "upper" && i === j) continue; // the self pair is the self score
        const q = plan.queries[i];
        const t = targets[j];
        w += pts.get(q)! * search(t) + (sym ? pts.get(t)! * search(q) : 0);
      }
    }
  }
  const sum = (ids: Iterable<bigint>, f: (id: bigint) => number): number => [...ids].reduce((a, id) => a + f(id), 0);
  const needRows = sym || mode === "normalized";
  if (plan.targets === "queries") {
    w += sum(new Set([...cols, ...(needRows ? rows : [])]), tree);
    w += sum(new Set([...(needRows ? rows : []), ...(sym ? cols : [])]), self);
  } else {
    w += sum(cols, tree) + (sym ? sum(cols, self) : 0);
    if (needRows) w += sum(rows, tree) + sum(rows, self);
  }
  return w;
}

describe("planBins: exact work", () => {
  const modes: Normalization[] = ["raw", "normalized", "mean", "geometric-mean"];

  it("all-by-all: N non-empty bins covering every pair exactly once, for many (n, N)", () => {
    for (const n of [1, 2, 3, 5, 8, 13, 40]) {
      const sel = selectNeurons(set(n, n));
      for (const mode of modes) {
        for (const keepSelf of [false, true]) {
          const units = isSymmetric(mode) ? (n * (n - 1)) / 2 + (keepSelf ? n : 0) : n * n - (keepSelf ? 0 : n);
          for (const bins of new Set([1, 2, 3, 7, n, 2 * n, units, units + 1])) {
            if (bins < 1) continue;
            if (units === 0 || bins > units) {
              expect(() => planBins(sel, { bins, normalization: mode, keepSelf })).toThrow(InputError);
              continue;
            }
            checkCoverage(sel, mode, keepSelf, bins);
          }
        }
      }
    }
  });

  it("query set != target set: every (query, target) once, any mode", () => {
    const all = set(30, 3);
    const sel = selectNeurons(all, { queryIds: all.slice(0, 12).map((x) => x.id), targetIds: all.slice(8).map((x) => x.id) });
    expect(sel.sameSet).toBe(false);
    for (const mode of modes) {
      // 12 x 22 pairs less the 4 neurons in both sets paired with themselves
      for (const bins of [1, 5, 11, 12, 13, 50, 260]) {
        const plan = checkCoverage(sel, mode, false, bins);
        expect(plan.layout).toBe("rows");
        expect(plan.targets).not.toBe("queries");
      }
    }
    expect(() => planBins(sel, { bins: 261, normalization: "raw", keepSelf: false })).toThrow(
      /cannot make 261 bins from 260 query-target pairs; use --bins 260 or fewer/,
    );
    checkCoverage(sel, "raw", true, 264);
  });

  it("fewer queries than bins: splits queries across bins rather than leaving bins empty", () => {
    const all = set(50, 4);
    const sel = selectNeurons(all, { queryIds: [all[0].id, all[1].id, all[2].id] });
    const plan = checkCoverage(sel, "normalized", false, 20);
    expect(plan.bins.every((b) => b.blocks.length >= 1)).toBe(true);
  });

  it("--balance cable: CATMAID's query buckets, exactly N whenever there are N queries", () => {
    for (const n of [5, 13, 40]) {
      const sel = selectNeurons(set(n, 7 * n));
      for (const mode of ["normalized", "mean"] as Normalization[]) {
        for (const bins of [1, 3, n]) {
          const plan = checkCoverage(sel, mode, false, bins, "cable");
          expect(plan.layout).toBe("rows");
          // whole queries against all targets, in id order
          for (const b of plan.bins) {
            expect(b.blocks).toHaveLength(1);
            expect(b.blocks[0].cols).toEqual([0, n]);
          }
        }
        expect(() => planBins(sel, { bins: n + 1, normalization: mode, keepSelf: false, balance: "cable" })).toThrow(
          /--balance cable needs at least as many queries as bins/,
        );
      }
    }
  });

  it("bin costs are the model's, pair by pair", () => {
    const all = set(25, 9);
    const selections = [selectNeurons(all), selectNeurons(all, { queryIds: all.slice(0, 10).map((x) => x.id) })];
    for (const sel of selections) {
      for (const mode of ["raw", "normalized", "mean"] as Normalization[]) {
        for (const keepSelf of [false, true]) {
          for (const balance of ["cost", "cable"] as const) {
            const plan = planBins(sel, { bins: 7, normalization: mode, keepSelf, balance });
            for (let b = 0; b < plan.bins.length; b++) {
              expect(Math.abs(plan.bins[b].cost - bruteCost(plan, sel, mode, b))).toBeLessThanOrEqual(0.5 + 1e-9 * plan.bins[b].cost);
            }
          }
        }
      }
    }
  });

  it("is deterministic: the same neurons in any order give the same plan", () => {
    const all = set(300, 11);
    const shuffled = [...all].reverse();
    for (const mode of ["normalized", "mean"] as Normalization[]) {
      const a = planBins(selectNeurons(all), { bins: 37, normalization: mode, keepSelf: false });
      const b = planBins(selectNeurons(shuffled), { bins: 37, normalization: mode, keepSelf: false });
      expect(b).toEqual(a);
    }
  });

  it("refuses a bad number of bins", () => {
    const sel = selectNeurons(set(10));
    for (const bins of [0, -1, 2.5, NaN]) {
      expect(() => planBins(sel, { bins, normalization: "raw", keepSelf: false })).toThrow(/--bins must be a positive integer/);
    }
  });
});

describe("balance on a synthetic FAFB-like set", () => {
  const sel = selectNeurons(generateFragmentSet(3000, 2024));

  for (const [mode, bins] of [
    ["normalized", 100],
    ["mean", 100],
    ["normalized", 1000],
    ["mean", 1000],
  ] as [Normalization, number][]) {
    it(`${mode}, ${bins} bins: cost balance beats CATMAID's cable buckets`, () => {
      const cost = summarizeCost(planBins(sel, { bins, normalization: mode, keepSelf: false }).bins);
      const cable = summarizeCost(planBins(sel, { bins, normalization: mode, keepSelf: false, balance: "cable" }).bins);
      console.log(`3000 neurons, ${mode}, ${bins} bins\n  cost : ${formatCostSummary(cost)}\n  cable: ${formatCostSummary(cable)}`);
      expect(cost.bins).toBe(bins);
      expect(cable.bins).toBe(bins);
      // within 1% of perfect, while the cable buckets' slowest bin is far off
      expect(cost.maxOverMean).toBeLessThan(1.01);
      expect(cable.maxOverMean).toBeGreaterThan(1.3);
      // and the run finishes sooner: the slowest cost-balanced bin beats the slowest cable bucket
      expect(cost.max).toBeLessThan(cable.max / 1.3);
    });
  }

  it("CATMAID's own grouping can return fewer groups than asked", () => {
    expect(catmaidGroupCount(sel.queries.map((q) => q.cable), 1000)).toBeLessThan(1000);
  });
});

describe("summarizeCost", () => {
  it("gives min, median, max and max/mean", () => {
    expect(summarizeCost([{ cost: 4 }, { cost: 1 }, { cost: 3 }, { cost: 2 }])).toEqual({
      bins: 4,
      total: 10,
      min: 1,
      median: 2.5,
      max: 4,
      mean: 2.5,
      maxOverMean: 1.6,
    });
    expect(summarizeCost([{ cost: 5 }]).median).toBe(5);
  });
});
