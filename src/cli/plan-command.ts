import type { Command } from "commander";
import { Option } from "commander";
import { openCache } from "../cache/index.ts";
import { formatCostSummary, readIdFile } from "../plan/index.ts";
import { createRun, type CreatedRun } from "../plan/create-run.ts";
import { openStorage } from "../storage/open.ts";
import { nonNegativeNumber, positiveInt } from "./parse-options.ts";
import { addScoringStorageOptions, minScoreOf, type ScoringStorageOptions } from "./scoring-options.ts";
import { resolveSmat } from "./smat-option.ts";
import { prepareOutFolder } from "./folder-guard.ts";
import { InputError } from "../nblast/errors.ts";
import { estimateRun } from "../plan/estimate-run.ts";
import { formatEstimate, type Estimate } from "../plan/estimate.ts";

export interface PlanOptions extends ScoringStorageOptions {
  cache: string;
  bins?: number;
  out: string;
  minLength?: number;
  maxLength?: number;
  queryIds?: string;
  targetIds?: string;
  balance: "cost" | "cable";
  /** false with --no-spatial. */
  spatial: boolean;
}

/** `plan`'s own options: --out may be left out with --estimate. */
interface PlanCommandOptions extends Omit<PlanOptions, "out"> {
  out?: string;
  estimate?: boolean;
  spotPrice: number;
  estimateSample?: number;
  calibrateSeconds: number;
}

export function registerPlan(program: Command): void {
  const cmd = program
    .command("plan")
    .description("pick the neurons, split the work into bins of equal cost, write RUN_URI/manifest.json")
    .requiredOption("--cache <uri>", "the dotprops cache (folder or s3://...)")
    .option("--out <run-uri>", "the run's folder or s3:// prefix; its manifest is never rewritten (not with --estimate)")
    .option("--estimate", "write nothing: print the candidate pairs, nearest-neighbour queries, core-hours (calibrated here) and Spot cost")
    .option("--spot-price <usd>", "with --estimate: USD per vCPU-hour of the machines the run would use", nonNegativeNumber, DEFAULT_SPOT_PRICE)
    .option("--estimate-sample <n>", "with --estimate: count the candidates of at most this many queries, and scale", positiveInt)
    .option("--calibrate-seconds <s>", "with --estimate: seconds of kernel timing on the run's own pairs", nonNegativeNumber, 2);
  addPlanOptions(cmd).action(async (o: PlanCommandOptions) => {
    if (o.estimate === true) {
      if (o.out !== undefined) throw new InputError("plan --estimate writes nothing: leave out --out");
      process.stdout.write(formatEstimate(await estimateFromOptions(o)));
      return;
    }
    if (o.out === undefined) throw new InputError("plan needs --out RUN_URI (or --estimate, which writes nothing)");
    const out = o.out;
    // One plan per folder at a time; a second is refused, naming the first.
    const lock = await prepareOutFolder(openStorage(out), "plan");
    try {
      const created = await planFromOptions({ ...o, out });
      printPlan(created, out);
    } finally {
      await lock.release();
    }
  });
}

/** Which neurons, how many bins, how balanced, and the scoring and storage options: `plan`'s and `run`'s. */
export function addPlanOptions(cmd: Command): Command {
  cmd
    .option("--bins <n>", "number of bins (default: 16, or fewer when there are fewer queries)", positiveInt)
    .option("--min-length <um>", "only neurons with at least this much cable (microns)", nonNegativeNumber)
    .option("--max-length <um>", "only neurons with at most this much cable (microns)", nonNegativeNumber)
    .option("--query-ids <file>", "query ids (integers 0 to 2^63 - 1), one per line (default: every neuron)")
    .option("--target-ids <file>", "target ids (integers 0 to 2^63 - 1), one per line (default: every neuron)")
    .addOption(
      new Option("--balance <how>", "cost: equal estimated NBLAST cost; cable: CATMAID's cable-length buckets")
        .choices(["cost", "cable"] as const)
        .default("cost"),
    )
    .option(
      "--no-spatial",
      "plan every pair, in id order (default: an all-by-all whose rule keeps only scores above a non-negative --min-score " +
        "is planned along a Hilbert curve, and pairs whose boxes are too far apart to score above it are never planned)",
    );
  return addScoringStorageOptions(cmd);
}

/**
 * What CATMAID's guide would pay is the yardstick users know; the default price is an
 * assumption (a compute-optimised Spot vCPU-hour in a large region), printed with the figure.
 */
export const DEFAULT_SPOT_PRICE = 0.02;

async function estimateFromOptions(o: PlanCommandOptions): Promise<Estimate> {
  const cache = await openCache(openStorage(o.cache));
  const known = { has: (id: bigint): boolean => cache.indexOf(id) >= 0 };
  return estimateRun({
    cache,
    bins: o.bins,
    normalization: o.normalization,
    useAlpha: o.useAlpha,
    smat: await resolveSmat(o.smat, o.useAlpha),
    minLength: o.minLength,
    maxLength: o.maxLength,
    queryIds: o.queryIds === undefined ? undefined : await readIdFile(o.queryIds, known),
    targetIds: o.targetIds === undefined ? undefined : await readIdFile(o.targetIds, known),
    minScore: minScoreOf(o),
    topN: o.topN,
    spotPrice: o.spotPrice,
    sample: o.estimateSample,
    calibrateSeconds: o.calibrateSeconds,
    spatial: o.spatial,
    balance: o.balance,
  });
}

export async function planFromOptions(o: PlanOptions): Promise<CreatedRun> {
  const cache = await openCache(openStorage(o.cache));
  // Looked up in the cache's sorted id column: no set of millions of bigints.
  const known = { has: (id: bigint): boolean => cache.indexOf(id) >= 0 };
  return createRun({
    cache,
    out: openStorage(o.out),
    bins: o.bins,
    normalization: o.normalization,
    useAlpha: o.useAlpha,
    smat: await resolveSmat(o.smat, o.useAlpha),
    minLength: o.minLength,
    maxLength: o.maxLength,
    queryIds: o.queryIds === undefined ? undefined : await readIdFile(o.queryIds, known),
    targetIds: o.targetIds === undefined ? undefined : await readIdFile(o.targetIds, known),
    balance: o.balance,
    minScore: minScoreOf(o),
    topN: o.topN,
    keepSelf: o.keepSelf,
    keepForwardReverse: o.keepForwardReverse,
    spatial: o.spatial,
  });
}

export function printPlan(c: CreatedRun, out: string): void {
  const m = c.manifest;
  const err = process.stderr;
  err.write(
    `${c.status === "written" ? "planned" : "already planned (identical)"} ${out}/manifest.json: ` +
      `${m.selection.queries} queries x ${m.selection.targets} targets, ${m.scoring.normalization}` +
      `${m.scoring.useAlpha ? " with alpha" : ""}, layout ${m.work.layout}\n`,
  );
  const skipped = m.work.skipped;
  if (skipped !== undefined) {
    const n = m.selection.queries;
    const d = m.work.diagonal ? n : 0;
    const all = m.work.layout === "upper" ? (n * (n - 1)) / 2 + d : n * n - n + d;
    err.write(
      `  space order: ${(all - skipped.pairs).toLocaleString("en-US")} of ${all.toLocaleString("en-US")} ${m.work.layout === "upper" ? "unordered" : "ordered"} pairs planned; ` +
        `${skipped.pairs.toLocaleString("en-US")} (${((100 * skipped.pairs) / all).toFixed(2)}%) have boxes ${skipped.distance} um or more apart and cannot score above --min-score\n`,
    );
  }
  err.write(`  ${m.plan.balance.padEnd(5)}: ${formatCostSummary(c.cost)}\n`);
  if (c.alternative !== undefined) {
    err.write(`  ${c.alternative.balance.padEnd(5)}: ${formatCostSummary(c.alternative.cost)} (for comparison, not used)\n`);
  }
}
