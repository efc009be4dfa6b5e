import type { Command } from "commander";
import { DEFAULT_MAX_POINTS } from "../nblast/neuron-checks.ts";
import type { DotpropsParams } from "../nblast/types.ts";
import { nonNegativeNumber, positiveInt, positiveNumber } from "./parse-options.ts";

/** How skeletons become dotprops: the options `score`, `cache build` and `run` share. */
export interface DotpropsOptions {
  scale: number;
  simplify?: number;
  resample: number;
  k: number;
  /** Not a dotprops parameter (it changes no number): a bound on the work and memory one neuron may take. */
  maxPoints: number;
}

export function addDotpropsOptions(cmd: Command): Command {
  return cmd
    .option("--scale <factor>", "multiply skeleton coordinates first (0.001: nm to um, e.g. CATMAID exports)", positiveNumber, 1)
    .option("--simplify <n>", "keep only the n largest branch points (CATMAID uses 10)", positiveInt)
    .option("--resample <um>", "resampling step for skeletons, microns (0: none)", nonNegativeNumber, 1)
    .option("--k <n>", "neighbours for tangents, the point itself counted", positiveInt, 5)
    .option(
      "--max-points <n>",
      "refuse a neuron estimated (cable / resample step, or nodes) to have more points than this, before any work on it",
      positiveInt,
      DEFAULT_MAX_POINTS,
    );
}

export function dotpropsParamsOf(o: DotpropsOptions): DotpropsParams {
  return { scale: o.scale, simplify: o.simplify, resample: o.resample === 0 ? undefined : o.resample, k: o.k };
}
