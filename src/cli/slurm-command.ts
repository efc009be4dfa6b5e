/**
 * `submit slurm`: a planned run's bins as sbatch arrays on a Slurm cluster (docs/slurm.md).
 * `status`, `resume` and `cancel` are the shared commands, which hand a Slurm run to
 * src/backends/slurm.
 */
import { Option, type Command } from "commander";
import { formatSubmitted, parseMemory, parseTime, RUNTIMES, submitSlurm, type Runtime } from "../backends/slurm/index.ts";
import { InputError } from "../nblast/errors.ts";
import { openStorage } from "../storage/open.ts";
import { positiveInt } from "./parse-options.ts";

interface SubmitSlurmCliOptions {
  run: string;
  partition?: string;
  account?: string;
  qos?: string;
  cpusPerTask: number;
  memPerCpu?: string;
  mem?: string;
  time?: string;
  maxParallel?: number;
  binsPerTask?: number;
  runtime: Runtime;
  image?: string;
  sbatchArg: string[];
  then?: "export" | "load";
  thenOut?: string;
  similarityId?: number;
  catmaid?: boolean;
  dryRun?: boolean;
  prune: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSlurmCommands(submit: Command): void {
  submit
    .command("slurm")
    .description(
      "send a planned run to Slurm: sbatch array scripts in RUN/slurm/ (one `worker` per bin, logs in RUN/slurm/logs/), " +
        "cut at the cluster's MaxArraySize, checked against the partition's limits before sbatch; the run folder must be on a file system the nodes share",
    )
    .requiredOption("--run <dir>", "the planned run's folder (shared with the compute nodes)")
    .option("--partition <p>", "the partition (default: the cluster's default)")
    .option("--account <a>", "the account to charge")
    .option("--qos <q>", "the quality of service")
    .option("--cpus-per-task <n>", "CPUs of each task: the worker's threads (SLURM_CPUS_PER_TASK)", positiveInt, 1)
    .option("--mem-per-cpu <size>", "memory per CPU (4000, 500M, 4G)")
    .option("--mem <size>", "memory per task (instead of --mem-per-cpu)")
    .option("--time <limit>", "each task's time limit (MINUTES, HH:MM:SS, DAYS-HH:MM:SS; default: the partition's)")
    .option("--max-parallel <t>", "tasks of one array running at once (--array=...%T)", positiveInt)
    .option("--bins-per-task <b>", "bins each array task runs in turn (default 1, raised when the tasks would exceed the cluster's submit limit)", positiveInt)
    .addOption(new Option("--runtime <r>", "what each task runs: the installed CLI, the worker image with docker, or with apptainer").choices(RUNTIMES).default("node"))
    .option("--image <image>", "docker/apptainer: the worker image (docker: a tag; apptainer: docker://IMAGE or a .sif)")
    .option("--sbatch-arg <arg>", "an extra sbatch option for every script, as written after #SBATCH (repeatable): --sbatch-arg=--exclusive", collect, [])
    .addOption(new Option("--then <what>", "one more job once every array has succeeded: export the merged result, or load it into Postgres").choices(["export", "load"] as const))
    .option("--then-out <file>", "--then export: the merged file (default RUN/result.parquet; a .csv name writes CSV)")
    .option("--similarity-id <n>", "--then load: the similarity the rows belong to", positiveInt)
    .option("--catmaid", "--then load: the database is CATMAID's")
    .option("--no-prune", "workers search every pair (the stored rows are the same)")
    .option("--dry-run", "only write the scripts (and RUN/slurm/submit.sh) and say how to submit them")
    .action(async (o: SubmitSlurmCliOptions) => {
      if (o.mem !== undefined && o.memPerCpu !== undefined) throw new InputError("--mem and --mem-per-cpu exclude each other: give one");
      if (o.thenOut !== undefined && o.then !== "export") throw new InputError("--then-out goes with --then export");
      if ((o.similarityId !== undefined || o.catmaid === true) && o.then !== "load") throw new InputError("--similarity-id and --catmaid go with --then load");
      if (o.then === "load" && o.similarityId === undefined) throw new InputError("--then load needs --similarity-id");
      if (o.image !== undefined && o.runtime === "node") throw new InputError("--image goes with --runtime docker or apptainer");
      const r = await submitSlurm({
        run: openStorage(o.run),
        request: {
          partition: o.partition,
          account: o.account,
          qos: o.qos,
          cpusPerTask: o.cpusPerTask,
          memory: o.memPerCpu !== undefined ? parseMemory(o.memPerCpu, "cpu", "--mem-per-cpu") : o.mem !== undefined ? parseMemory(o.mem, "node", "--mem") : undefined,
          time: o.time === undefined ? undefined : parseTime(o.time),
          maxParallel: o.maxParallel,
          binsPerTask: o.binsPerTask,
          runtime: o.runtime,
          image: o.image,
          sbatchArgs: o.sbatchArg,
        },
        then: o.then === undefined ? undefined : { kind: o.then, out: o.thenOut, similarityId: o.similarityId, catmaid: o.catmaid },
        dryRun: o.dryRun === true,
        prune: o.prune,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${formatSubmitted(r, o.run)}\n`);
    });
}
