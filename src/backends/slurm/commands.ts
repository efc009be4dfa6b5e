/**
 * Running Slurm's own client commands (sbatch, squeue, scontrol, sacct, scancel) and
 * reading what they print. Nothing here talks to slurmctld directly: the commands are the
 * one interface every Slurm site has, and they honour the user's SLURM_CONF.
 */
import { execFile } from "node:child_process";
import { InputError } from "../../nblast/errors.ts";

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Runs a Slurm client; resolves with its output and exit code (never rejects on a non-zero exit). */
export function slurmCommand(command: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 2 ** 20, env: process.env },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code === "string") {
          if (err.code === "ENOENT") {
            reject(new InputError(`\`${command}\` was not found: run this on a machine with Slurm's client commands (a login node), or install slurm-client`));
            return;
          }
          reject(new InputError(`\`${command}\` could not run: ${err.message}`));
          return;
        }
        if (err !== null && err.killed === true) {
          reject(new InputError(`\`${command} ${args.join(" ")}\` did not answer within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s: is slurmctld reachable?`));
          return;
        }
        resolve({ stdout: String(stdout), stderr: String(stderr), code: err === null ? 0 : typeof err.code === "number" ? err.code : 1 });
      },
    );
  });
}

/** Like slurmCommand, but a non-zero exit is an InputError quoting Slurm's own words. */
export async function slurmOk(command: string, args: readonly string[]): Promise<string> {
  const r = await slurmCommand(command, args);
  if (r.code !== 0) throw new InputError(`\`${command} ${args.join(" ")}\` failed: ${firstLines(r.stderr || r.stdout)}`);
  return r.stdout;
}

/** Slurm's message, without its "sbatch: error: " prefixes, on one line. */
export function firstLines(text: string, max = 3): string {
  return text
    .split("\n")
    .map((l) => l.replace(/^\w+: error: /, "").trim())
    .filter((l) => l !== "")
    .slice(0, max)
    .join("; ");
}

/**
 * `scontrol show ... -o` prints one record per line as space-separated Key=Value pairs;
 * values may hold spaces only in a few free-text fields (Reason, Comment), which come
 * last or are followed by a key we know, so a pair starts where "Key=" starts a word.
 */
export function parseOneLiners(text: string): Map<string, string>[] {
  const records: Map<string, string>[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const rec = new Map<string, string>();
    const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/.]*)=/g;
    const starts: { key: string; at: number; valueAt: number }[] = [];
    for (let m = re.exec(line); m !== null; m = re.exec(line)) {
      starts.push({ key: m[1], at: m.index, valueAt: m.index + m[0].length });
    }
    for (let i = 0; i < starts.length; i++) {
      const end = i + 1 < starts.length ? starts[i + 1].at : line.length;
      rec.set(starts[i].key, line.slice(starts[i].valueAt, end).trim());
    }
    if (rec.size > 0) records.push(rec);
  }
  return records;
}

/** `scontrol show config`: "Key = Value" lines. */
export function parseConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(\S+)\s+=\s+(.*)$/.exec(line);
    if (m !== null) out.set(m[1], m[2].trim());
  }
  return out;
}
