/**
 * What a run will cost before it runs: candidate pairs and nearest-neighbour queries
 * (candidates.ts), scaled by this machine's measured kernel speed (calibrate.ts) into
 * core-hours, and into dollars at a Spot price per vCPU-hour the user sets.
 *
 * The model follows today's worker: every candidate pair is bounded, and searched unless
 * the bounds rule it out (the calibration's pruned share); every other pair a bin holds
 * gets the box test (in space order only the planned tiles' pairs: spatial.ts); each bin
 * builds the trees of its targets (all of them, or in space order at most those of its
 * tiles' columns) and the self scores it needs once; a bin's worker holds those trees.
 */
import { preparedTargetBytes } from "../nblast/score.ts";
import type { Calibration } from "./calibrate.ts";
import type { CandidateCount } from "./candidates.ts";
import type { SpaceOrderCount } from "./spatial.ts";

export interface EstimateInput {
  readonly counts: CandidateCount;
  readonly calibration: Calibration;
  readonly queries: number;
  readonly targets: number;
  /** Points of all targets (each bin builds every target's tree). */
  readonly targetPoints: number;
  /** Points of all the self scores the run computes, over all its bins (0 in raw mode). */
  readonly selfPoints: number;
  readonly bins: number;
  /**
   * How the run's mode pairs neurons: "forward" scores each ordered pair one way; "both"
   * scores each ordered pair both ways (symmetric modes, queries apart from targets);
   * "unordered" scores each unordered pair once, both ways (symmetric all-by-all).
   * The calibration times a pair as the run would (one search, or two).
   */
  readonly pairing: "forward" | "both" | "unordered";
  /** USD per vCPU-hour. */
  readonly spotPrice: number;
  /**
   * When the run would be planned in space order: the pairs its tiles hold. Only those meet
   * the box test inside a bin; the rest are never read. Absent: every pair is in a bin.
   */
  readonly spaceOrder?: SpaceOrderCount;
}

export interface Estimate extends EstimateInput {
  /** Nearest-neighbour queries expected after the bounds inside bins. */
  readonly searchedQueries: number;
  /**
   * pairs: the candidate pairs (bounds and searches); far: the box-gap test inside the bins
   * of every other pair they hold (in space order, only those of the planned tiles).
   */
  readonly coreHours: { readonly pairs: number; readonly far: number; readonly trees: number; readonly selfs: number; readonly total: number };
  /** Every pair searched, at the same kernel speed (no pruning of any kind), and its queries. */
  readonly fullQueries: number;
  readonly fullCoreHours: number;
  readonly spotUsd: number;
  /** Bytes of the targets' trees one bin's worker holds (at most, in space order). */
  readonly treeBytesPerBin: number;
}

export function estimate(e: EstimateInput): Estimate {
  const c = e.calibration;
  const prunedShare = c.pairs === 0 ? 0 : c.pruned / c.pairs;
  const units = e.pairing === "unordered" ? 0.5 : 1;
  const queriesPerPair = e.pairing === "both" ? 2 : 1; // both ways: about twice the forward queries
  const pairs = (e.counts.candidatePairs * units * c.secondsPerPair) / 3600;
  // A bin builds the trees of its targets: every target, or in space order at most the live
  // column groups of the rows it spans (the bins are cut row-major over the tiles).
  const targetsPerBin = binTargets(e);
  const pointsPerTarget = e.targets === 0 ? 0 : e.targetPoints / e.targets;
  const trees = (e.bins * targetsPerBin * pointsPerTarget * c.secondsPerTreePoint) / 3600;
  const selfs = (e.selfPoints * c.secondsPerSelfPoint) / 3600;
  const inBins = e.spaceOrder === undefined ? e.counts.allPairs : Math.min(e.counts.allPairs, Math.max(e.spaceOrder.plannedPairs, e.counts.candidatePairs));
  const far = ((inBins - e.counts.candidatePairs) * units * c.secondsPerFarPair) / 3600;
  const total = pairs + far + trees + selfs;
  // Average bytes per point of a prepared target, times the points a bin holds.
  const treeBytesPerBin = e.targets === 0 ? 0 : preparedTargetBytes(Math.max(1, Math.round(pointsPerTarget))) * targetsPerBin;
  return {
    ...e,
    searchedQueries: e.counts.candidateQueries * queriesPerPair * (1 - prunedShare),
    coreHours: { pairs, far, trees, selfs, total },
    fullCoreHours: (e.counts.allQueries * queriesPerPair * c.secondsPerQuery) / 3600 + trees + selfs,
    fullQueries: e.counts.allQueries * queriesPerPair,
    spotUsd: total * e.spotPrice,
    treeBytesPerBin,
  };
}

/** Targets one bin holds (an upper bound in space order: adjacent rows share columns). */
function binTargets(e: EstimateInput): number {
  const so = e.spaceOrder;
  if (so === undefined || so.groups === 0) return e.targets;
  const rowsPerBin = Math.ceil(so.groups / Math.max(1, e.bins));
  return Math.min(e.targets, rowsPerBin * so.liveColumnsPerRow * so.groupSize);
}

const int = (x: number): string => Math.round(x).toLocaleString("en-US");
const pct = (x: number): string => (x >= 0.001 ? `${(100 * x).toFixed(2)}%` : `${(100 * x).toPrecision(2)}%`);
const hours = (h: number): string => (h >= 100 ? int(h) : h >= 1 ? h.toFixed(1) : h.toPrecision(2));
const ratio = (a: number, b: number): string => (b === 0 ? "n/a" : `${(a / b).toFixed(a / b >= 100 ? 0 : 1)}x`);

const bytes = (b: number): string => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);

/** The report `plan --estimate` prints. */
export function formatEstimate(x: Estimate): string {
  const { counts: k, calibration: c } = x;
  const lines: string[] = [];
  lines.push(`${int(x.queries)} queries x ${int(x.targets)} targets: ${int(k.allPairs)} ordered pairs`);
  if (k.pruneDistance === Infinity) {
    lines.push(`candidate pairs: all of them (the storage rule may keep negative scores, so no pair is ruled out by distance)`);
  } else {
    const sampled = k.countedQueries < x.queries ? `, counted on a sample of ${int(k.countedQueries)} queries` : "";
    lines.push(
      `candidate pairs: ${int(k.candidatePairs)} (${pct(k.candidatePairs / Math.max(1, k.allPairs))}): boxes closer than ${k.pruneDistance} um${sampled}`,
    );
  }
  const so = x.spaceOrder;
  if (so !== undefined) {
    const sampled = so.countedGroups < so.groups ? `, counted on ${int(so.countedGroups)} of them` : "";
    lines.push(
      `plan in space order: ${int(so.plannedPairs)} ordered pairs in the ${int(so.groups)} x ${int(so.groups)} tiles that hold a candidate${sampled}; ` +
        `${int(so.allPairs - so.plannedPairs)} (${pct((so.allPairs - so.plannedPairs) / Math.max(1, so.allPairs))}) never planned`,
    );
  }
  lines.push(
    `calibration on this machine, 1 thread: ${int(c.pairs)} candidate pairs of the run's own neurons, ${c.passes} passes: ` +
      `${(c.secondsPerPair * 1e6).toFixed(1)} us a pair, ${pct(c.pruned / Math.max(1, c.pairs))} proven below --min-score inside the bin, ` +
      `${(c.secondsPerQuery * 1e9).toFixed(0)} ns a search`,
  );
  lines.push(
    `nearest-neighbour queries expected: ${int(x.searchedQueries)} (${ratio(x.fullQueries, x.searchedQueries)} fewer than the full all-by-all's ${int(x.fullQueries)})`,
  );
  lines.push(
    `core-hours: ${hours(x.coreHours.total)} (candidate pairs ${hours(x.coreHours.pairs)}, ruling out the other pairs ${so === undefined ? "" : "of the planned tiles "}by their boxes ${hours(x.coreHours.far)}, ` +
      `target trees ${hours(x.coreHours.trees)} and self scores ${hours(x.coreHours.selfs)} over ${int(x.bins)} bins); ` +
      `the full all-by-all at this speed: ${hours(x.fullCoreHours)}`,
  );
  lines.push(`each bin's worker holds ${x.spaceOrder === undefined ? "about" : "at most"} ${bytes(x.treeBytesPerBin)} of target trees`);
  lines.push(`AWS Spot at $${x.spotPrice} per vCPU-hour: about $${x.spotUsd < 10 ? x.spotUsd.toFixed(2) : int(x.spotUsd)}`);
  return lines.join("\n") + "\n";
}
