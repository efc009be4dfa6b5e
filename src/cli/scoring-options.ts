import type { Command } from "commander";
import { Option } from "commander";
import { NORMALIZATIONS, type Normalization } from "../nblast/modes.ts";
import { finiteNumber, positiveInt } from "./parse-options.ts";

/** How pairs are scored: the options `score`, `plan` and `run` share. */
export interface ScoringOptions {
  smat?: string;
  useAlpha: boolean;
  normalization: Normalization;
}

/** Scoring plus which rows a run stores: the options `plan` and `run` share. */
export interface ScoringStorageOptions extends ScoringOptions {
  minScore?: number;
  keepAll: boolean;
  topN?: number;
  keepSelf: boolean;
  keepForwardReverse: boolean;
}

export function addScoringOptions(cmd: Command): Command {
  return cmd
    .option("--smat <name|file>", "score matrix: fcwb, alpha-fcwb, or a CSV/JSON file (default: fcwb, alpha-fcwb with --use-alpha)")
    .option("--use-alpha", "weight |dot| by sqrt(alpha_q * alpha_t), as nat.nblast's UseAlpha", false)
    .addOption(new Option("--normalization <mode>", "score mode: raw (query to target), normalized (by the query's self score, the default), or a symmetric mean, min, max, geometric-mean or harmonic-mean of both directions").choices(NORMALIZATIONS).default("normalized"));
}

export function addScoringStorageOptions(cmd: Command): Command {
  return addScoringOptions(cmd)
    .option("--min-score <x>", "store only scores above x (default 0: positive scores only, as CATMAID)", finiteNumber)
    .option("--keep-all", "store every score, negative ones too (overrides --min-score)", false)
    .option("--top-n <n>", "store at most the n best targets per query", positiveInt)
    .option("--keep-self", "store each neuron's score against itself", false)
    .option("--keep-forward-reverse", "also store the normalized forward and reverse scores of each pair", false);
}

/** The run's minScore: undefined keeps all rows. */
export function minScoreOf(o: ScoringStorageOptions): number | undefined {
  return o.keepAll ? undefined : (o.minScore ?? 0);
}
