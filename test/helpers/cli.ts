import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user does, in a child process (Node strips the types itself). */
export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rows of a `query,target,score` CSV keyed "query|target". */
export function parseScoreCsv(text: string): Map<string, number> {
  const lines = text.trimEnd().split("\n");
  const out = new Map<string, number>();
  for (const line of lines.slice(1)) {
    const [q, t, s] = line.split(",");
    out.set(`${q}|${t}`, Number(s));
  }
  return out;
}
