import type { Command } from "commander";
import { databaseFromEnv, formatBinOutcome, loadRun } from "../db/index.ts";
import { InputError } from "../nblast/errors.ts";
import { openStorage } from "../storage/open.ts";
import { checkDone, runBin } from "../worker/index.ts";
import { claimBin } from "../worker/claims.ts";
import { readManifest } from "../plan/index.ts";
import { describeHolder, type Lease } from "../storage/lease-file.ts";
import type { Storage } from "../storage/types.ts";
import { checkOutFolder } from "../storage/out-target.ts";
import { CliExit, interruptSignal } from "./exit.ts";
import { nonNegativeInt, positiveInt } from "./parse-options.ts";

interface WorkerOptions {
  run: string;
  bin: number;
  threads?: number;
  cacheDir?: string;
  load?: boolean;
  similarityId?: number;
  catmaid?: boolean;
  /** false with --no-prune. */
  prune: boolean;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("score one bin of a planned run: shards/bin=K.parquet, then done/K.json (what every backend runs)")
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .requiredOption("--bin <k>", "the bin, 0-based", nonNegativeInt)
    .option("--threads <n>", "threads (default: --threads, SLURM_CPUS_PER_TASK, the container's CPU quota, else the machine)", positiveInt)
    .option("--cache-dir <dir>", "where an S3 cache is copied once per host (default: $NBLAST_FANOUT_CACHE_DIR or ~/.cache/nblast-fanout)")
    .option("--load", "then load the bin into Postgres with the code of `load` (needs --similarity-id; credentials as for `load`)")
    .option("--similarity-id <n>", "with --load: the similarity the rows belong to", positiveInt)
    .option("--catmaid", "with --load: the database must be CATMAID's (see `load --help`)")
    .option("--no-prune", "search every pair, even those whose score bound proves them below --min-score (the stored rows are the same)")
    .action(async (o: WorkerOptions) => {
      if (o.load === true && o.similarityId === undefined) throw new InputError("--load needs --similarity-id");
      const { signal, dispose } = interruptSignal();
      let lastPhase = "";
      const run = openStorage(o.run);
      let claim: Lease | undefined;
      try {
        await checkOutFolder(run.uri, "--run"); // a run folder that cannot take the shard fails now, in words
        // Claimed once: another `worker` or `run` computing this bin is waited for, not doubled.
        claim = await claimOrWait(run, o.bin, signal);
        if (claim === undefined) {
          process.stderr.write(`bin ${o.bin}: done by another process meanwhile\n`);
          return;
        }
        const outcome = await runBin({
          run,
          bin: o.bin,
          threads: o.threads,
          cacheDir: o.cacheDir,
          prune: o.prune,
          signal,
          // One line per phase: readable in Slurm and Batch logs as on a terminal.
          onProgress: (p) => {
            if (p.phase === lastPhase) return;
            lastPhase = p.phase;
            process.stderr.write(`bin ${p.bin}: ${p.phase}${p.pairsTotal > 0 ? ` (${p.pairsTotal} pairs)` : ""}\n`);
          },
        });
        const m = outcome.marker;
        process.stderr.write(
          outcome.status === "skipped"
            ? `bin ${o.bin}: skipped, already done (${m.shard.rows} rows)\n`
            : `bin ${o.bin}: done, ${m.pairs} pairs (${m.pruned ?? 0} pruned), ${m.shard.rows} rows in ${m.timings.total.toFixed(1)} s on ${m.threads} threads, ` +
                `peak memory ${(m.peakMemory / 2 ** 20).toFixed(0)} MiB\n`,
        );
        if (o.load === true) {
          const s = await loadRun({ run: openStorage(o.run), db: databaseFromEnv(), similarityId: o.similarityId!, catmaid: o.catmaid, bins: [o.bin], jobs: 1 });
          const b = s.outcomes.find((x) => x.bin === o.bin);
          process.stderr.write(`${b === undefined ? `bin ${o.bin}: not loaded (no valid done marker)` : formatBinOutcome(b)}; ${s.loadedBins} of ${s.bins} bins in the database\n`);
        }
      } catch (err) {
        if (signal.aborted) throw new CliExit(130, `bin ${o.bin}: interrupted; nothing of it counts as done`);
        throw err;
      } finally {
        await claim?.release().catch(() => {});
        dispose();
      }
    });
}

/** The bin's claim; undefined when another process finished the bin while this one waited. */
async function claimOrWait(run: Storage, bin: number, signal: AbortSignal): Promise<Lease | undefined> {
  let told = false;
  for (;;) {
    signal.throwIfAborted();
    const a = await claimBin(run, bin, "worker");
    if (a.lease !== undefined) return a.lease;
    if ((await checkDone(run, await readManifest(run), bin, "size")).state === "done") return undefined;
    if (!told) process.stderr.write(`bin ${bin}: being computed by ${describeHolder(a.holder)}; waiting for it\n`);
    told = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}
