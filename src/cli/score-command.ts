import type { Command } from "commander";
import { collectInputs, loadNeuron } from "../inputs/index.ts";
import type { LoadedNeuron } from "../inputs/index.ts";
import { simplifyNote } from "../cache/index.ts";
import { scoreAllByAll } from "../nblast/score.ts";
import type { DotpropsParams } from "../nblast/types.ts";
import { writeFileAtomic } from "../storage/atomic-file.ts";
import { checkOutFile, STDOUT } from "../storage/out-target.ts";
import { csvField } from "./csv-field.ts";
import { addDotpropsOptions, dotpropsParamsOf, type DotpropsOptions } from "./dotprops-options.ts";
import { addScoringOptions, type ScoringOptions } from "./scoring-options.ts";
import { resolveSmat } from "./smat-option.ts";

interface ScoreOptions extends DotpropsOptions, ScoringOptions {
  query: string[];
  target?: string[];
  out?: string;
}

export function registerScore(program: Command): void {
  const cmd = program
    .command("score")
    .description("score neurons against each other directly, on this machine (the small job)")
    .requiredOption("--query <path...>", "query neurons: .swc, R dotprops .csv, idx,X,Y,Z .csv, CATMAID .json, folders or globs")
    .option("--target <path...>", "target neurons (default: all-by-all among the queries)")
    .option("--out <file>", "write the CSV here (atomically; a regular file or a new name) instead of stdout; - is stdout");
  addDotpropsOptions(addScoringOptions(cmd)).action(async (opts: ScoreOptions) => {
    const params = dotpropsParamsOf(opts);
    const toFile = opts.out !== undefined && opts.out !== STDOUT;
    if (toFile) await checkOutFile(opts.out!); // before the work: a bad --out fails at once
    const smat = await resolveSmat(opts.smat, opts.useAlpha);
    const queries = await loadAll(opts.query, params, opts.maxPoints);
    const targets = opts.target === undefined ? queries : await loadAll(opts.target, params, opts.maxPoints);
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
    if (!toFile) process.stdout.write(text);
    else await writeFileAtomic(opts.out!, text);
  });
}

/** Loads every neuron; skipped files, warnings and simplify losses go to stderr (there is no report file). */
async function loadAll(specs: string[], params: DotpropsParams, maxPoints: number): Promise<LoadedNeuron[]> {
  const sources = await collectInputs(specs, { onSkip: (path, reason) => process.stderr.write(`nblast-fanout: skipped ${path}: ${reason}\n`) });
  const neurons: LoadedNeuron[] = [];
  for (const src of sources) {
    const n = await loadNeuron(src, params, { maxPoints });
    for (const w of n.warnings) process.stderr.write(`nblast-fanout: warning: ${src.path}: ${w}\n`);
    if (n.simplified !== undefined) process.stderr.write(`nblast-fanout: ${src.path}: ${simplifyNote({ droppedTrees: n.simplified.droppedTrees, stoppedEarly: n.simplified.stoppedEarly ?? null })}\n`);
    neurons.push(n);
  }
  return neurons;
}
