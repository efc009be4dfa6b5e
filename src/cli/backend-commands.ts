/**
 * The commands shared by every remote backend: `submit <backend>` (each backend adds its
 * own subcommand), and `resume` and `cancel`, which find the backend by the submission
 * record in the run (src/backends/remote.ts). A run never submitted is the local engine's.
 */
import type { Command } from "commander";
import { remoteBackendOf, type RemoteBackend } from "../backends/remote.ts";
import { REMOTE_BACKENDS } from "../backends/remote-list.ts";
import { InputError } from "../nblast/errors.ts";
import { openStorage } from "../storage/open.ts";
import type { Storage } from "../storage/types.ts";
import { positiveInt } from "./parse-options.ts";

/**
 * The `submit` command; backends register their subcommands on it (`submit slurm`,
 * `submit aws`) from their own CLI modules.
 */
export function registerSubmit(program: Command): Command {
  return program
    .command("submit")
    .description("send a planned run's bins to a cluster or the cloud (see `submit <backend> --help`)");
}

export function registerBackendCommands(program: Command): void {
  program
    .command("resume")
    .description("submit again only the bins of a submitted run that are neither done nor queued")
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .option("--all-missing", "AWS runs: send every bin neither done nor dead-lettered again, even those assumed still queued")
    .option("--workers <n>", "AWS runs: the size of a new array job, if no worker is running (default: the size first submitted)", positiveInt)
    .option("--mem-per-cpu <size>", "Slurm runs: memory per CPU of the new tasks (after OUT_OF_MEMORY; default: as submitted)")
    .option("--mem <size>", "Slurm runs: memory per task of the new tasks (instead of --mem-per-cpu)")
    .option("--time <limit>", "Slurm runs: time limit of the new tasks (after TIMEOUT; default: as submitted)")
    .option("--cpus-per-task <n>", "Slurm runs: CPUs of the new tasks (default: as submitted)", positiveInt)
    .action(async (o: { run: string; allMissing?: boolean; workers?: number; memPerCpu?: string; mem?: string; time?: string; cpusPerTask?: number }) => {
      const run = openStorage(o.run);
      const backend = await submittedBackend(run, "resume");
      const slurmOnly = [o.memPerCpu, o.mem, o.time, o.cpusPerTask].some((v) => v !== undefined);
      if (slurmOnly && backend.name !== "slurm") throw new InputError("--mem-per-cpu, --mem, --time and --cpus-per-task are for Slurm runs");
      if ((o.allMissing === true || o.workers !== undefined) && backend.name !== "aws") throw new InputError("--all-missing and --workers are for AWS runs");
      process.stdout.write(`${await backend.resume(run, { allMissing: o.allMissing, workers: o.workers, memPerCpu: o.memPerCpu, mem: o.mem, time: o.time, cpusPerTask: o.cpusPerTask })}\n`);
    });

  program
    .command("cancel")
    .description("stop every job of a submitted run")
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .action(async (o: { run: string }) => {
      const run = openStorage(o.run);
      const backend = await submittedBackend(run, "cancel");
      process.stdout.write(`${await backend.cancel(run)}\n`);
    });
}

async function submittedBackend(run: Storage, command: string): Promise<RemoteBackend> {
  const backend = await remoteBackendOf(run, REMOTE_BACKENDS);
  if (backend === undefined) {
    throw new InputError(
      `${run.uri} was never submitted to a cluster or the cloud, so there is nothing to ${command}; ` +
        `a local run resumes with \`nblast-fanout run --resume ${run.uri}\``,
    );
  }
  return backend;
}
