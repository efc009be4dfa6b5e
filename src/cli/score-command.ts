import type { Command } from "commander";
import { Option } from "commander";
import { collectInputs, loadNeuron } from "../inputs/index.ts";
import type { LoadedNeuron } from "../inputs/index.ts";
import { scoreAllByAll, NORMALIZATIONS } from "../nblast/score.ts";
import type { Normalization } from "../nblast/score.ts";
import type { DotpropsParams } from "../nblast/types.ts";
import { writeTextAtomic, csvField } from "./output.ts";
import { nonNegativeNumber, oneOf, positiveInt, positiveNumber } from "./parse-options.ts";
import { resolveSmat } from "./smat-option.ts";

interface ScoreOptions {
  query: string[];
  target?: string[];
  smat?: string;
  useAlpha: boolean;
  normalization: Normalization;
  k: number;
  resample: number;
  scale: number;
  simplify?: number;
  out?: string;
}

export function registerScore(program: Command): void {
  program
    .command("score")
    .description("score neurons against each other directly, on this machine (the small job)")
    .requiredOption("--query <path...>", "query neurons: .swc, R dotprops .csv, idx,X,Y,Z .csv, CATMAID .json, folders or globs")
    .option("--target <path...>", "target neurons (default: all-by-all among the queries)")
    .option("--smat <name|file>", "score matrix: fcwb, alpha-fcwb, or a CSV/JSON file (default: fcwb, alpha-fcwb with --use-alpha)")
    .option("--use-alpha", "weight |dot| by sqrt(alpha_q * alpha_t), as nat.nblast's UseAlpha", false)
    .addOption(
      new Option("--normalization <mode>", "score mode").argParser(oneOf(NORMALIZATIONS)).default("normalized"),
    )
    .option("--k <n>", "neighbours for tangents, the point itself counted", positiveInt, 5)
    .option("--resample <um>", "resampling step for skeletons, microns (0: none)", nonNegativeNumber, 1)
    .option("--scale <factor>", "multiply skeleton coordinates first (0.001: nm to um)", positiveNumber, 1)
    .option("--simplify <n>", "keep only the n largest branch points (CATMAID uses 10)", positiveInt)
    .option("--out <file>", "write the CSV here (atomically) instead of stdout")
    .action(async (opts: ScoreOptions) => {
      const params: DotpropsParams = {
        scale: opts.scale,
        simplify: opts.simplify,
        resample: opts.resample === 0 ? undefined : opts.resample,
        k: opts.k,
      };
      const smat = await resolveSmat(opts.smat, opts.useAlpha);
      const queries = await loadAll(opts.query, params);
      const targets = opts.target === undefined ? queries : await loadAll(opts.target, params);
      const scores = scoreAllByAll(
        queries.map((n) => n.dotprops),
        targets.map((n) => n.dotprops),
        { smat, useAlpha: opts.useAlpha, normalization: opts.normalization },
      );
      const lines: string[] = ["query,target,score"];
      for (let i = 0; i < queries.length; i++) {
        const q = csvField(queries[i].name);
        for (let j = 0; j < targets.length; j++) {
          // Number's default printing is the shortest string that reads back to the same double.
          lines.push(`${q},${csvField(targets[j].name)},${scores[i * targets.length + j]}`);
        }
      }
      const text = lines.join("\n") + "\n";
      if (opts.out === undefined) process.stdout.write(text);
      else await writeTextAtomic(opts.out, text);
    });
}

async function loadAll(specs: string[], params: DotpropsParams): Promise<LoadedNeuron[]> {
  const sources = await collectInputs(specs);
  const neurons: LoadedNeuron[] = [];
  for (const src of sources) neurons.push(await loadNeuron(src, params));
  return neurons;
}
