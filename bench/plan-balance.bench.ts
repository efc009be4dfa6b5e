/**
 * How evenly the planner's bins share the work, against CATMAID's equal-cable query
 * buckets, on synthetic FAFB-like fragment sets. Run: node bench/plan-balance.bench.ts
 *
 * Costs are the model's (docs/plan.md). "max/mean" is the run's wall time over the
 * ideal; "vs cost" is the slowest cable bucket over the slowest cost-balanced bin (how
 * much longer the CATMAID-style run takes on the same machines); "reads" is the mean
 * number of neurons a bin loads.
 */
import { catmaidGroupCount, planBins, summarizeCost } from "../src/plan/bins.ts";
import { selectNeurons } from "../src/plan/select.ts";
import type { Normalization, WorkPlan } from "../src/plan/types.ts";
import { generateFragmentSet } from "../src/synth/fragments.ts";

/** Mean over bins of how many distinct neurons a bin meets (rows and cols, one list when all-by-all). */
function meanReads(plan: WorkPlan): number {
  let total = 0;
  for (const bin of plan.bins) {
    const iv: [number, number, number][] = [];
    for (const b of bin.blocks) {
      iv.push([0, b.rows[0], b.rows[1]]);
      iv.push([plan.targets === "queries" ? 0 : 1, b.cols[0], b.cols[1]]);
    }
    iv.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let space = -1;
    let end = -1;
    for (const [s, a, e] of iv) {
      if (s !== space) {
        space = s;
        end = -1;
      }
      if (e > end) {
        total += e - Math.max(a, end);
        end = e;
      }
    }
  }
  return total / plan.bins.length;
}

const f = (x: number): string => x.toPrecision(3);

for (const n of [3000, 30000]) {
  const sel = selectNeurons(generateFragmentSet(n, 2024));
  console.log(`\n${n} synthetic fragments (seed 2024), all-by-all`);
  for (const bins of [100, 1000]) {
    console.log(`  ${bins} bins (CATMAID's own grouping would give ${catmaidGroupCount(sel.queries.map((q) => q.cable), bins)} groups)`);
    for (const mode of ["normalized", "mean"] as Normalization[]) {
      const t0 = performance.now();
      const cost = planBins(sel, { bins, normalization: mode, keepSelf: false });
      const ms = performance.now() - t0;
      const cable = planBins(sel, { bins, normalization: mode, keepSelf: false, balance: "cable" });
      const a = summarizeCost(cost.bins);
      const b = summarizeCost(cable.bins);
      console.log(
        `    ${mode.padEnd(10)} cost  (${cost.layout.padEnd(5)}): max/mean ${a.maxOverMean.toFixed(3)}  min ${f(a.min)} median ${f(a.median)} max ${f(a.max)} total ${f(a.total)}  reads ${meanReads(cost).toFixed(0)}  planned in ${ms.toFixed(0)} ms`,
      );
      console.log(
        `    ${"".padEnd(10)} cable (rows ): max/mean ${b.maxOverMean.toFixed(3)}  min ${f(b.min)} median ${f(b.median)} max ${f(b.max)} total ${f(b.total)}  reads ${meanReads(cable).toFixed(0)}  slowest bin ${(b.max / a.max).toFixed(2)}x the cost plan's`,
      );
    }
  }
}
