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
import { positiveInt } from "./parse-options.ts";
import { addPlanOptions, planFromOptions, printPlan, type PlanOptions } from "./plan-command.ts";
import { buildReportLines } from "./build-report.ts";
import { cacheBuildProgressBar, runProgressBar } from "./progress.ts";
import { prepareOutFolder } from "./folder-guard.ts";
import { describeHolder } from "../storage/lease-file.ts";
import { sweepLeftovers } from "../storage/sweep.ts";
import { checkOutFolder } from "../storage/out-target.ts";

interface RunOptions extends DotpropsOptions, Omit<PlanOptions, "cache" | "out"> {
  input?: string[];
  idList?: string;
  recursive: boolean;
  cache?: string;
  out?: string;
  resume?: string;
  threads?: number;
  /** Hidden alias of --threads (older spelling). */
  workers?: number;
  strict: boolean;
  tmpDir?: string;
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
    .option("--threads <n>", "threads for the cache build and the bins (default: all this machine, container or Slurm allocation allows)", positiveInt)
    .addOption(new Option("--workers <n>", "alias of --threads").argParser(positiveInt).hideHelp())
    .option("--strict", "with --input: fail on the first neuron that cannot be read instead of reporting it", false)
    .option("--tmp-dir <dir>", "with --input: local scratch folder for a cache built to S3 (default: the OS temp folder)")
    .addOption(
      new Option("--precision <p>", "cache precision, with --input: float64 (score's numbers, rounded once to float32 when stored) or float32 (half the memory)")
        .choices(["float32", "float64"] as const)
        .default("float64"),
    )
    .option("--cache-dir <dir>", "where an S3 cache is copied on this host")
    .option("--no-prune", "search every pair, even those whose score bound proves them below --min-score (the stored rows are the same)");
  addDotpropsOptions(cmd);
  // The planning options are `plan`'s own, registered by the same code.
  addPlanOptions(cmd).action(async (o: RunOptions, self: Command) => {
    if (o.threads !== undefined && o.workers !== undefined && o.threads !== o.workers) {
      throw new InputError(`--threads ${o.threads} and --workers ${o.workers} disagree (--workers is the old name of --threads: give one)`);
    }
    o.threads ??= o.workers;
    // The words the user typed after the program's name, as commander received them
    // (rawArgs is commander's, untyped); else this process's own arguments.
    const raw = ((self.parent ?? self) as unknown as { rawArgs?: unknown }).rawArgs;
    const words = Array.isArray(raw) && raw.every((a) => typeof a === "string") ? raw.slice(2) : process.argv.slice(2);
    const run = await prepareRun(o, words);
    if (o.prune && (o as { keepAll?: boolean }).keepAll === true) process.stderr.write("note: --keep-all stores every score, so no pair can be pruned; every pair is searched\n");
    const { signal, dispose } = interruptSignal();
    const { onProgress, stop } = runProgressBar();
    let summary;
    try {
      summary = await runLocal({
        run,
        threads: o.threads,
        cacheDir: o.cacheDir,
        signal,
        onProgress,
        prune: o.prune,
        // Another `run` or `worker` on this folder has the bin: it is left to it, and waited for.
        onWaiting: (bin, h) => process.stderr.write(`\nbin ${bin} is being computed by ${describeHolder(h)}; leaving it to that process\n`),
      });
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
async function prepareRun(o: RunOptions, command: string[]): Promise<Storage> {
  if (o.resume !== undefined) {
    if (o.input !== undefined || o.cache !== undefined || o.out !== undefined) {
      throw new InputError("--resume takes the run folder alone: its plan is fixed (drop --input, --cache and --out)");
    }
    const run = openStorage(o.resume);
    if ((await run.size("manifest.json")) === undefined) await notPlannedYet(run);
    await readManifest(run); // a clear error when the plan there is not usable
    await checkOutFolder(run.uri, "--resume"); // the shards go here: a full or read-only disk fails now
    const removed = await sweepLeftovers(run.uri);
    if (removed.length > 0) process.stderr.write(`removed ${removed.length} leftovers of killed processes in ${run.uri}\n`);
    return run;
  }
  if (o.out === undefined) throw new InputError("run needs --out DIR (or --resume DIR)");
  if ((o.input === undefined) === (o.cache === undefined)) throw new InputError("run needs exactly one of --input and --cache");
  const run = openStorage(o.out);
  // Cache and plan under the folder's lock: a second `run` on this folder waits here, then
  // finds the cache and plan made (the same options reuse them; others are refused).
  const lock = await prepareOutFolder(run, "run (cache and plan)", { wait: true });
  try {
    // Recorded once the command is past its quick checks, before the work a kill could cut short.
    const record = async (): Promise<void> => {
      await run.putIfAbsent(RUN_COMMAND_KEY, JSON.stringify({ format: RUN_COMMAND_FORMAT, command }) + "\n");
    };
    if (o.bins !== undefined && o.cache !== undefined) checkBinsFit(o.bins, (await openCache(openStorage(o.cache))).count);
    const cache = o.cache !== undefined ? openStorage(o.cache) : await cacheInputs(o, run.child("cache"), record);
    await record();
    const created = await planFromOptions({ ...o, cache: cache.uri, out: run.uri });
    printPlan(created, run.uri);
  } finally {
    await lock.release();
  }
  return run;
}

/** Where `run` records the command that started a run: `run --resume` before the plan says it again. */
const RUN_COMMAND_KEY = "run-command.json";
const RUN_COMMAND_FORMAT = "nblast-fanout/run-command";

/** `run --resume` of a run killed before its plan was written: the command that finishes it. */
async function notPlannedYet(run: Storage): Promise<never> {
  let command: string[] | undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(await run.get(RUN_COMMAND_KEY))) as { format?: string; command?: unknown };
    if (v.format === RUN_COMMAND_FORMAT && Array.isArray(v.command) && v.command.every((a) => typeof a === "string")) command = v.command;
  } catch {
    // no record: said below
  }
  if (command !== undefined) {
    throw new InputError(
      `${run.uri} was not planned yet: the run stopped before its plan was written (during the cache build or the plan). ` +
        `Finish it with the command that started it: nblast-fanout ${command.map(shellQuote).join(" ")}`,
    );
  }
  if ((await run.list("cache/")).length > 0 || (await run.child("cache").size("cache.json")) !== undefined) {
    throw new InputError(
      `${run.uri} was not planned yet: it holds a cache but no plan. Finish it with nblast-fanout run --input ... --out ${run.uri} ` +
        `(the same --input and options as the first time; the cache there is reused when they match)`,
    );
  }
  throw new InputError(`${run.uri}: no run manifest here (nothing was run in this folder); start a run with nblast-fanout run --input ... --out ${run.uri}`);
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`;
}

/**
 * --bins beyond what any plan of `neurons` neurons can have (at most neurons^2 pairs) is
 * refused before the cache is built; the plan makes the exact check.
 */
function checkBinsFit(bins: number, neurons: number): void {
  const most = neurons * neurons;
  if (bins > most) {
    throw new InputError(`--bins ${bins} is more than the pairs of ${neurons} neurons (at most ${most}); use --bins ${Math.min(most, 16)} or another number up to the pair count`);
  }
}

/** Builds <out>/cache from --input, or reuses the one a previous run built there with the same parameters. */
async function cacheInputs(o: RunOptions, storage: Storage, record: () => Promise<void>): Promise<Storage> {
  const lock = await prepareOutFolder(storage, "run (cache build)", { wait: true });
  try {
    return await cacheInputsLocked(o, storage, record);
  } finally {
    await lock.release();
  }
}

async function cacheInputsLocked(o: RunOptions, storage: Storage, record: () => Promise<void>): Promise<Storage> {
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
  const skipped: { path: string; reason: string }[] = [];
  const inputs = await collectInputs(o.input ?? [], { idList: o.idList, recursive: o.recursive, onSkip: (path, reason) => skipped.push({ path, reason }) });
  if (inputs.length === 0) throw new InputError(`--input: no neurons found in ${(o.input ?? []).join(" ")}`);
  if (o.bins !== undefined) checkBinsFit(o.bins, inputs.length); // before hours of cache build
  await record();
  const bar = cacheBuildProgressBar();
  let summary;
  try {
    summary = await buildCache({
      inputs,
      out: storage,
      params,
      precision: o.precision,
      threads: o.threads,
      strict: o.strict,
      maxPoints: o.maxPoints,
      skipped,
      tmpDir: o.tmpDir,
      onProgress: bar.onProgress,
    });
  } finally {
    bar.stop();
  }
  for (const line of buildReportLines(summary, skipped)) process.stderr.write(line + "\n");
  return storage;
}
