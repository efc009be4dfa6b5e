import type { Command } from "commander";
import { Option } from "commander";
import { formatLocalSummary, runLocal } from "../backends/local/index.ts";
import { buildCache, formatParams, openCache, paramsEqual, type CacheReader } from "../cache/index.ts";
import { collectInputs } from "../inputs/index.ts";
import { InputError } from "../nblast/errors.ts";
import { readManifest } from "../plan/index.ts";
import { openStorage } from "../storage/open.ts";
import type { Storage } from "../storage/types.ts";
import { addDotpropsOptions, dotpropsParamsOf, type DotpropsOptions } from "./dotprops-options.ts";
import { CliExit, interruptSignal } from "./exit.ts";
import { oneOf, positiveInt } from "./parse-options.ts";
import { addPlanOptions, planFromOptions, printPlan, type PlanOptions } from "./plan-command.ts";
import { cacheBuildProgressBar, runProgressBar } from "./progress.ts";

interface RunOptions extends DotpropsOptions, Omit<PlanOptions, "cache" | "out"> {
  input?: string[];
  idList?: string;
  recursive: boolean;
  cache?: string;
  out?: string;
  resume?: string;
  workers?: number;
  precision: "float32" | "float64";
  cacheDir?: string;
  /** false with --no-prune. */
  prune: boolean;
}

export function registerRun(program: Command): void {
  const cmd = program
    .command("run")
    .description("cache, plan and every bin on this machine, resumable: the whole job in one command")
    .option("--input <path...>", "skeletons to cache first: SWC, CATMAID .json, CSV, folders, globs (see cache build)")
    .option("--id-list <file>", "with --input: CSV of id,name (or id,path) giving ids to neurons whose file names are not integers")
    .option("--recursive", "with --input: search folders recursively", false)
    .option("--cache <uri>", "an existing cache instead of --input")
    .option("--out <dir>", "the run's folder or s3:// prefix (with --input its cache goes to <dir>/cache)")
    .option("--resume <dir>", "finish a run planned before: skip its bins already done")
    .option("--workers <n>", "threads for the cache build and the bins (default: all this machine allows)", positiveInt)
    .addOption(
      new Option("--precision <p>", "cache precision, with --input: float64 (score's numbers, rounded once to float32 when stored) or float32 (half the memory)")
        .argParser(oneOf(["float32", "float64"] as const))
        .default("float64"),
    )
    .option("--cache-dir <dir>", "where an S3 cache is copied on this host")
    .option("--no-prune", "search every pair, even those whose score bound proves them below --min-score (the stored rows are the same)");
  addDotpropsOptions(cmd);
  // The planning options are `plan`'s own, registered by the same code.
  addPlanOptions(cmd).action(async (o: RunOptions) => {
    const run = await prepareRun(o);
    if (o.prune && (o as { keepAll?: boolean }).keepAll === true) process.stderr.write("note: --keep-all stores every score, so no pair can be pruned; every pair is searched\n");
    const { signal, dispose } = interruptSignal();
    const { onProgress, stop } = runProgressBar();
    let summary;
    try {
      summary = await runLocal({ run, threads: o.workers, cacheDir: o.cacheDir, signal, onProgress, prune: o.prune });
    } finally {
      stop();
      dispose();
    }
    process.stderr.write(formatLocalSummary(summary) + "\n");
    if (summary.aborted) throw new CliExit(130, `resume with: nblast-fanout run --resume ${run.uri}`);
    if (summary.failed.length > 0) {
      throw new CliExit(1, `${summary.failed.length} of ${summary.bins} bins failed; fix the cause and rerun with --resume ${run.uri}`);
    }
    process.stderr.write(`results in ${run.uri}/shards; best matches: nblast-fanout top --run ${run.uri} --neuron ID\n`);
  });
}

/** The run folder, planned: resumed as it is, or cached (when needed) and planned now. */
async function prepareRun(o: RunOptions): Promise<Storage> {
  if (o.resume !== undefined) {
    if (o.input !== undefined || o.cache !== undefined || o.out !== undefined) {
      throw new InputError("--resume takes the run folder alone: its plan is fixed (drop --input, --cache and --out)");
    }
    const run = openStorage(o.resume);
    await readManifest(run); // a clear error when there is no plan there
    return run;
  }
  if (o.out === undefined) throw new InputError("run needs --out DIR (or --resume DIR)");
  if ((o.input === undefined) === (o.cache === undefined)) throw new InputError("run needs exactly one of --input and --cache");
  const run = openStorage(o.out);
  const cache = o.cache !== undefined ? openStorage(o.cache) : await cacheInputs(o, run.child("cache"));
  const created = await planFromOptions({ ...o, cache: cache.uri, out: run.uri });
  printPlan(created, run.uri);
  return run;
}

/** Builds <out>/cache from --input, or reuses the one a previous run built there with the same parameters. */
async function cacheInputs(o: RunOptions, storage: Storage): Promise<Storage> {
  const params = dotpropsParamsOf(o);
  let existing: CacheReader | undefined;
  if ((await storage.size("cache.json")) !== undefined) existing = await openCache(storage);
  if (existing !== undefined) {
    if (!paramsEqual(existing.params, params) || existing.precision !== o.precision) {
      throw new InputError(
        `${storage.uri} was built with ${formatParams(existing.params)} ${existing.precision}, not ${formatParams(params)} ${o.precision}; ` +
          "choose a new --out",
      );
    }
    process.stderr.write(`reusing the cache in ${storage.uri} (${existing.count} neurons)\n`);
    return storage;
  }
  const inputs = await collectInputs(o.input ?? [], { idList: o.idList, recursive: o.recursive });
  if (inputs.length === 0) throw new InputError(`--input: no neurons found in ${(o.input ?? []).join(" ")}`);
  const bar = cacheBuildProgressBar();
  let summary;
  try {
    summary = await buildCache({ inputs, out: storage, params, precision: o.precision, threads: o.workers, onProgress: bar.onProgress });
  } finally {
    bar.stop();
  }
  if (summary.failed.length > 0) {
    process.stderr.write(`${summary.failed.length} neurons could not be read (see ${storage.uri}/report.json), first: ${summary.failed[0].reason}\n`);
  }
  return storage;
}
