/**
 * A bare entry for one bin, for child-process tests and benchmarks until (and besides) the
 * CLI's `worker` command:
 *
 *   node src/worker/main.ts --run RUN_URI --bin K [--threads N] [--cache-dir DIR]
 *
 * Prints one line per phase to stderr ("bin K: scoring ..."), the done marker as JSON to
 * stdout. Exit status: 0 done or skipped, 2 bad input, 1 other failure, 130 interrupted.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { InputError } from "../nblast/errors.ts";
import { openStorage } from "../storage/open.ts";
import { runBin } from "./run-bin.ts";

export async function workerMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      run: { type: "string" },
      bin: { type: "string" },
      threads: { type: "string" },
      "cache-dir": { type: "string" },
    },
    strict: true,
  });
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once("SIGINT", onSigint);
  try {
    if (values.run === undefined || values.bin === undefined) throw new InputError("usage: --run RUN_URI --bin K [--threads N] [--cache-dir DIR]");
    const bin = Number(values.bin);
    const threads = values.threads === undefined ? undefined : Number(values.threads);
    let lastPhase = "";
    const outcome = await runBin({
      run: openStorage(values.run),
      bin,
      threads,
      cacheDir: values["cache-dir"],
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === lastPhase) return;
        lastPhase = p.phase;
        process.stderr.write(`bin ${p.bin}: ${p.phase} (${p.pairsTotal} pairs)\n`);
      },
    });
    process.stderr.write(`bin ${bin}: ${outcome.status}\n`);
    process.stdout.write(JSON.stringify(outcome.marker) + "\n");
    return 0;
  } catch (err) {
    if (controller.signal.aborted) {
      process.stderr.write("interrupted\n");
      return 130;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    process.stderr.write(`nblast-fanout worker: ${e.message}\n`);
    if (!(e instanceof InputError) && process.env.NBLAST_FANOUT_DEBUG === "1") process.stderr.write(`${e.stack ?? ""}\n`);
    return e instanceof InputError ? 2 : 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  workerMain(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
