import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { missing, type Availability } from "../helpers/skip.ts";

export const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export function tempDir(tag: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `nbf-${tag}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number;
  stdout: string;
  stderr: string;
}

/** The CLI in a child process, asynchronously (so two can run at once). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, pid: child.pid!, stdout, stderr }));
  });
}

/** A pid that surely belongs to no process: one that just ended. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

/** Every leftover name under dir: temp files, build scratch folders, claims. */
export function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (/\.nbf-tmp$/.test(e.name) || e.name.startsWith(".cache-build-") || e.name === ".nbf-lock.json") out.push(join(e.parentPath, e.name));
    if (e.parentPath.endsWith("claims") && e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out;
}

/** A tmpfs mounted at dir with these options, or why not (mount needs root and a permissive container). */
export function mountTmpfs(dir: string, options: string): Availability<{ unmount: () => void }> {
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) return missing("tmpfs mount", `mount -t tmpfs -o ${options} failed: ${(r.stderr || r.error?.message || "").trim()}`);
  return { ok: true, unmount: () => void spawnSync("umount", [dir]) };
}
