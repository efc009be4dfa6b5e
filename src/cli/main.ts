import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { InputError } from "../nblast/errors.ts";
import { TOOL_VERSION } from "../version.ts";
import { registerAwsCommands } from "./aws-command.ts";
import { registerBackendCommands, registerSubmit } from "./backend-commands.ts";
import { registerSlurmCommands } from "./slurm-command.ts";
import { registerCache } from "./cache-command.ts";
import { registerDb } from "./db-command.ts";
import { registerPlan } from "./plan-command.ts";
import { registerResults } from "./results-commands.ts";
import { registerRun } from "./run-command.ts";
import { registerScore } from "./score-command.ts";
import { registerWorker } from "./worker-command.ts";
import { CliExit } from "./exit.ts";
import { describeSystemError } from "../storage/system-error.ts";

/** The whole command tree; each command lives in its own module. */
export function buildProgram(): Command {
  const program = new Command("nblast-fanout")
    .description("All-by-all NBLAST neuron similarity, exact to R's nat.nblast, on threads, Slurm or AWS Batch")
    .version(TOOL_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerScore(program);
  registerCache(program);
  registerPlan(program);
  registerWorker(program);
  registerRun(program);
  registerResults(program);
  registerDb(program);
  // Backends add their subcommands to `submit` here: registerSlurmSubmit(submit), ...
  const submit = registerSubmit(program);
  registerSlurmCommands(submit);
  registerAwsCommands(program, submit);
  registerBackendCommands(program);
  return program;
}

/**
 * Runs the CLI and resolves to the exit status instead of exiting, so tests and the bin share it.
 * Bad input (InputError) prints its message alone and gives 2; a bug prints its message and, with
 * NBLAST_FANOUT_DEBUG=1, its stack, and gives 1.
 */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander already printed why. Its usage errors (unknown option, bad or missing value,
    // unknown command) are bad input like any other: exit status 2, as the docs promise.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliExit) {
      if (err.message !== "") process.stderr.write(`nblast-fanout: ${err.message}\n`);
      return err.code;
    }
    if (err instanceof InputError) {
      process.stderr.write(`nblast-fanout: ${err.message}\n`);
      return 2;
    }
    // A file system's refusal (read-only, full, no permission, ...): one line in words.
    const sys = describeSystemError(err);
    if (sys !== undefined) {
      process.stderr.write(`nblast-fanout: ${sys.message}\n`);
      return sys.exitCode;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`nblast-fanout: ${e.message}\n`);
    if (process.env.NBLAST_FANOUT_DEBUG === "1") process.stderr.write(`${e.stack ?? ""}\n`);
    else process.stderr.write("(set NBLAST_FANOUT_DEBUG=1 for details)\n");
    return 1;
  }
}

// Run directly (`node src/cli/main.ts ...` under Node's type stripping, as the tests do).
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
