/**
 * Cuts a run into exactly N bins of (nearly) equal estimated cost.
 *
 * The work is a line of unit pairs (chain.ts); a bin is a contiguous stretch of it.
 * Cuts minimise the largest bin cost exactly (bisection on the bound, greedy fill, the
 * classic linear-partition argument: bin cost only grows as a stretch grows), then the
 * costliest bins are halved until there are exactly N. Costs include each bin's tree
 * builds and self scores, so a bin that meets more neurons is charged for it.
 */
import { InputError } from "../nblast/errors.ts";
import { RowsChain, UpperChain, selfColumns, type Chain } from "./chain.ts";
import { BlockCoster, costSpace, DEFAULT_COST_MODEL, type CostModel } from "./cost.ts";
import type { Selection } from "./select.ts";
import { isSymmetric, type Balance, type Bin, type Block, type Normalization, type WorkPlan } from "./types.ts";

export interface PlanOptions {
  /** Number of bins, a positive integer. */
  readonly bins: number;
  readonly normalization: Normalization;
  /** Whether a neuron's score against itself is part of the results. */
  readonly keepSelf: boolean;
  /** Default "cost". */
  readonly balance?: Balance;
  readonly costModel?: CostModel;
}

/** Upper bound on blocks per stretch (see chain.ts: at most 5). */
const MAX_BLOCKS = 8;

/** The bins of a run. Throws InputError when N bins cannot be made. */
export function planBins(selection: Selection, options: PlanOptions): WorkPlan {
  const n = options.bins;
  if (!(Number.isSafeInteger(n) && n >= 1)) {
    throw new InputError(`--bins must be a positive integer, got ${String(n)}`);
  }
  const model = options.costModel ?? DEFAULT_COST_MODEL;
  if (!(model.queryOverhead >= 0 && model.treeBuild >= 0 && Number.isFinite(model.queryOverhead + model.treeBuild))) {
    throw new Error(`planBins: cost model terms must be finite and >= 0, got ${JSON.stringify(model)}`);
  }
  const balance = options.balance ?? "cost";
  const symmetric = isSymmetric(options.normalization);
  const same = selection.sameSet;
  const layout = balance === "cost" && same && symmetric ? "upper" : "rows";
  const queries = selection.queries;
  const targets = same ? queries : selection.targets;
  const rows = costSpace(queries.map((q) => q.points), model);
  const cols = same ? rows : costSpace(targets.map((t) => t.points), model);
  const coster = new BlockCoster({
    layout,
    rows,
    cols,
    sameSpace: same,
    symmetric,
    normalized: options.normalization === "normalized",
  });
  const diagonal = options.keepSelf;
  const queryIds = BigInt64Array.from(queries, (q) => q.id);
  const targetIds = same ? queryIds : BigInt64Array.from(targets, (t) => t.id);
  const plan = (bins: Bin[]): WorkPlan => ({
    layout,
    diagonal,
    queries: queryIds,
    targets: same ? "queries" : targetIds,
    bins,
  });

  const skip = layout === "rows" && !diagonal ? selfColumns(queryIds, targetIds) : undefined;
  let chain: Chain;
  if (layout === "upper") {
    const m = queries.length;
    const units = (m * (m - 1)) / 2 + (diagonal ? m : 0);
    // square bins: a band as high as a bin's share of pairs is wide
    const h = Math.max(1, Math.min(m, Math.round(Math.sqrt(units / n))));
    chain = new UpperChain(m, h, diagonal);
  } else {
    chain = new RowsChain(queries.length, targets.length, skip);
  }
  if (chain.total === 0) {
    throw new InputError("nothing to compute: the only pairs are neurons with themselves, and --keep-self is off");
  }
  if (balance === "cable") return plan(cableBins(queries.map((q) => q.cable), targets.length, n, coster, skip));
  if (chain.total < n) {
    const what = layout === "upper" ? "unordered pairs" : "query-target pairs";
    throw new InputError(`cannot make ${n} bins from ${chain.total} ${what}; use --bins ${chain.total} or fewer`);
  }
  const cuts = balancedCuts(chain, coster, n);
  const bins: Bin[] = [];
  const scratch = new Float64Array(4 * MAX_BLOCKS);
  for (let b = 0; b < n; b++) {
    const k = chain.blocks(cuts[b], cuts[b + 1], scratch);
    bins.push({ cost: Math.round(coster.cost(scratch, k)), blocks: toBlocks(scratch, k) });
  }
  return plan(bins);
}

function toBlocks(q: Float64Array, k: number): Block[] {
  const out: Block[] = [];
  for (let b = 0; b < k; b++) out.push({ rows: [q[4 * b], q[4 * b + 1]], cols: [q[4 * b + 2], q[4 * b + 3]] });
  return out;
}

/**
 * Positions 0 = c[0] < c[1] < ... < c[n] = chain.total minimising the largest bin cost.
 * Requires chain.total >= n.
 */
export function balancedCuts(chain: Chain, coster: BlockCoster, n: number): Float64Array {
  const scratch = new Float64Array(4 * MAX_BLOCKS);
  const cost = (u: number, e: number): number => coster.cost(scratch, chain.blocks(u, e, scratch));
  const total = chain.total;

  // Greedy fill under bound T: each bin takes the longest stretch costing <= T (at least one unit).
  // Returns the number of bins, stopping early past `limit`; writes cuts when given room.
  const fill = (T: number, limit: number, cuts: Float64Array | undefined): number => {
    let u = 0;
    let count = 0;
    let lastLength = 0;
    while (u < total) {
      if (++count > limit) return count;
      // largest e in (u, total] with cost(u, e) <= T, or u + 1: a unit is never split
      let lo = u + 1;
      let hi = total;
      // bins come out about equally long: look near the last one's length first
      const guess = Math.min(total, u + 2 * lastLength);
      if (lastLength > 0 && guess > lo) {
        if (cost(u, guess) > T) hi = guess;
        else lo = guess;
      }
      let e: number;
      if (hi === total && cost(u, total) <= T) {
        e = total;
      } else {
        while (hi - lo > 1) {
          const mid = lo + Math.floor((hi - lo) / 2);
          if (cost(u, mid) <= T) lo = mid;
          else hi = mid;
        }
        e = lo;
      }
      if (cuts) cuts[count] = e;
      lastLength = e - u;
      u = e;
    }
    return count;
  };

  // Bracket the smallest feasible bound (lo infeasible or 0, hi feasible), then bisect to 1e-6.
  let lo = 0;
  let hi = cost(0, total) / n;
  if (!(hi > 0)) hi = 1;
  while (fill(hi, n, undefined) > n) {
    lo = hi;
    hi *= 2;
  }
  for (let it = 0; it < 200 && hi - lo > hi * 1e-6; it++) {
    const mid = (lo + hi) / 2;
    if (fill(mid, n, undefined) <= n) hi = mid;
    else lo = mid;
  }
  const first = new Float64Array(n + 1);
  const count = fill(hi, n, first);

  // Fewer than n bins: halve the costliest splittable bin until there are n.
  const ends: number[] = Array.from(first.subarray(1, count + 1));
  const starts: number[] = [0, ...ends.slice(0, -1)];
  const costs: number[] = starts.map((s, i) => cost(s, ends[i]));
  while (ends.length < n) {
    let best = -1;
    for (let i = 0; i < ends.length; i++) {
      if (ends[i] - starts[i] >= 2 && (best < 0 || costs[i] > costs[best])) best = i;
    }
    const s = starts[best];
    const e = ends[best];
    // smallest m with cost(s, m) >= cost(m, e), kept strictly inside (s, e)
    let a = s + 1;
    let b = e - 1;
    while (a < b) {
      const m = a + Math.floor((b - a) / 2);
      if (cost(s, m) >= cost(m, e)) b = m;
      else a = m + 1;
    }
    ends.splice(best, 1, a, e);
    starts.splice(best + 1, 0, a);
    costs.splice(best, 1, cost(s, a), cost(a, e));
  }
  const cuts = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) cuts[i + 1] = ends[i];
  return cuts;
}

/**
 * CATMAID's way (catmaid_parallel_nblast): queries in id order, cut where the running
 * cable total crosses k * total / N. CATMAID numbers groups by floor(cumsum / ceil(total / N))
 * and so can return fewer groups than asked (998 of 1000); here the cuts are nudged apart
 * so there are always exactly N non-empty bins. Costs are then the true model's.
 */
function cableBins(
  cables: readonly number[],
  nTargets: number,
  n: number,
  coster: BlockCoster,
  skip: Int32Array | undefined,
): Bin[] {
  const nq = cables.length;
  if (nq < n) {
    throw new InputError(`--balance cable needs at least as many queries as bins: ${nq} queries for --bins ${n}`);
  }
  const starts = cableStarts(cables, n);
  const scratch = new Float64Array(4);
  const bins: Bin[] = [];
  for (let b = 0; b < n; b++) {
    const r0 = starts[b];
    const r1 = b + 1 < n ? starts[b + 1] : nq;
    // a lone query whose only target is itself has nothing to do
    if (nTargets === 1 && skip !== undefined && r1 - r0 === 1 && skip[r0] === 0) {
      throw new InputError(`--balance cable would leave bin ${b} without pairs (its one query's only target is itself)`);
    }
    scratch.set([r0, r1, 0, nTargets]);
    bins.push({ cost: Math.round(coster.cost(scratch, 1)), blocks: [{ rows: [r0, r1], cols: [0, nTargets] }] });
  }
  return bins;
}

/** First query of each of n bins of equal cumulative cable (n <= cables.length). */
export function cableStarts(cables: readonly number[], n: number): Int32Array {
  const nq = cables.length;
  let total = 0;
  for (const c of cables) total += c;
  const starts = new Int32Array(n);
  let before = 0;
  let b = 1;
  for (let i = 0; i < nq && b < n; i++) {
    // query i opens bin b once the cable before it reaches b shares
    while (b < n && before >= (b * total) / n) starts[b++] = i;
    before += cables[i];
  }
  while (b < n) starts[b++] = nq;
  // exactly n non-empty bins: strictly increasing starts, each leaving room for the rest
  for (let k = 1; k < n; k++) starts[k] = Math.max(starts[k], starts[k - 1] + 1);
  for (let k = n - 1; k >= 1; k--) starts[k] = Math.min(starts[k], nq - (n - k), k + 1 < n ? starts[k + 1] - 1 : nq - 1);
  return starts;
}

/** How many groups CATMAID's own formula gives (it may be fewer than n). */
export function catmaidGroupCount(cables: readonly number[], n: number): number {
  let total = 0;
  for (const c of cables) total += c;
  const per = Math.ceil(total / n);
  const groups = new Set<number>();
  let before = 0;
  for (const c of cables) {
    groups.add(Math.floor(before / per));
    before += c;
  }
  return groups.size;
}

export interface CostSummary {
  readonly bins: number;
  readonly total: number;
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly mean: number;
  /** The run's wall time over the ideal one: 1 is perfect balance. */
  readonly maxOverMean: number;
}

export function summarizeCost(bins: readonly { readonly cost: number }[]): CostSummary {
  const c = Float64Array.from(bins, (b) => b.cost).sort();
  const k = c.length;
  if (k === 0) return { bins: 0, total: 0, min: 0, median: 0, max: 0, mean: 0, maxOverMean: 0 };
  let total = 0;
  for (const x of c) total += x;
  const mean = total / k;
  const median = k % 2 === 1 ? c[(k - 1) >> 1] : (c[k / 2 - 1] + c[k / 2]) / 2;
  return { bins: k, total, min: c[0], median, max: c[k - 1], mean, maxOverMean: mean > 0 ? c[k - 1] / mean : 0 };
}

/** One line for `plan` output: "100 bins, cost min 1.2e9 median ... max/mean 1.003". */
export function formatCostSummary(s: CostSummary): string {
  const f = (x: number): string => x.toPrecision(4);
  return `${s.bins} bins, estimated cost min ${f(s.min)} median ${f(s.median)} max ${f(s.max)} (total ${f(s.total)}), max/mean ${s.maxOverMean.toFixed(3)}`;
}
