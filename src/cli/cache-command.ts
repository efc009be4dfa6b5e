import type { Command } from "commander";
import { Option } from "commander";
import { buildCache, cacheInfo, openCache, verifyCache } from "../cache/index.ts";
import { buildReportLines } from "./build-report.ts";
import { cacheBuildProgressBar } from "./progress.ts";
import { collectInputs } from "../inputs/index.ts";
import { InputError } from "../nblast/errors.ts";
import { openStorage } from "../storage/open.ts";
import { addDotpropsOptions, dotpropsParamsOf, type DotpropsOptions } from "./dotprops-options.ts";
import { positiveInt } from "./parse-options.ts";
import { guardCacheRebuild, prepareOutFolder } from "./folder-guard.ts";

interface BuildOptions extends DotpropsOptions {
  input: string[];
  idList?: string;
  recursive: boolean;
  out: string;
  precision: "float32" | "float64";
  threads?: number;
  strict: boolean;
  tmpDir?: string;
  force: boolean;
}

export function registerCache(program: Command): void {
  const cache = program.command("cache").description("build and inspect dotprops caches");

  const build = cache
    .command("build")
    .description("turn skeletons into a versioned cache of NBLAST-ready dotprops, on all cores")
    .requiredOption("--input <path...>", "SWC, CATMAID compact-detail .json, dotprops/points .csv, folders, globs, or an id,path .csv list")
    .option("--id-list <file>", "CSV of id,name (or id,path) giving ids to neurons whose file names are not integers")
    .option("--recursive", "search folders recursively", false)
    .requiredOption("--out <uri>", "cache location: a folder or s3://bucket/prefix")
    .addOption(
      new Option("--precision <p>", "storage precision: float64 keeps score's numbers exactly; float32 halves memory (see docs/cache-format.md)")
        .choices(["float32", "float64"] as const)
        .default("float64"),
    )
    .option("--threads <n>", "worker threads (default: all this machine, container or Slurm allocation allows)", positiveInt)
    .option("--strict", "fail on the first neuron that cannot be read instead of reporting it", false)
    .option("--tmp-dir <dir>", "local scratch folder for a build to S3 (default: the OS temp folder)")
    .option("--force", "rebuild the cache of a planned run (its done bins are invalidated and computed again by run --resume)", false);
  addDotpropsOptions(build).action(async (o: BuildOptions) => {
    const params = dotpropsParamsOf(o);
    const out = openStorage(o.out);
    const skipped: { path: string; reason: string }[] = [];
    const inputs = await collectInputs(o.input, { idList: o.idList, recursive: o.recursive, onSkip: (path, reason) => skipped.push({ path, reason }) });
    if (inputs.length === 0) throw new InputError(`--input: no neurons found in ${o.input.join(" ")}`);
    // One build per folder at a time; a second is refused, naming the first.
    const lock = await prepareOutFolder(out, "cache build");
    const bar = cacheBuildProgressBar();
    let summary;
    try {
      const guard = await guardCacheRebuild(out, o.force);
      summary = await buildCache({
        inputs,
        out,
        params,
        precision: o.precision,
        threads: o.threads,
        strict: o.strict,
        maxPoints: o.maxPoints,
        skipped,
        onProgress: bar.onProgress,
        tmpDir: o.tmpDir,
      });
      await guard.afterBuild(summary.sha256);
    } finally {
      bar.stop();
      await lock.release();
    }
    process.stderr.write(
      `cache ${summary.uri}: ${summary.neurons} neurons, ${summary.totalPoints} points, ` +
        `${(summary.bytes / 1e6).toFixed(1)} MB in ${summary.elapsed.toFixed(1)} s on ${summary.threads} threads\n`,
    );
    for (const line of buildReportLines(summary, skipped)) process.stderr.write(line + "\n");
  });

  cache
    .command("info")
    .description("print a cache's parameters and statistics")
    .argument("<uri>", "cache location: a folder or s3://bucket/prefix")
    .option("--verify", "re-read every byte and check the checksum", false)
    .action(async (uri: string, o: { verify: boolean }) => {
      const storage = openStorage(uri);
      process.stdout.write(cacheInfo(await openCache(storage)) + "\n");
      if (o.verify) {
        const v = await verifyCache(storage);
        process.stdout.write(`verified: ${v.bytes} bytes, sha256 ${v.sha256}\n`);
      }
    });
}
