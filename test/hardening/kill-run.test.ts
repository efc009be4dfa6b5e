/**
 * Kill tests at every phase of `run` (cache build, plan, a bin's scoring, between a shard
 * and its done marker): the process is SIGKILLed at that exact point (NBLAST_FANOUT_KILL_AT,
 * src/storage/kill-point.ts), then the run is finished: the same rows as a clean run, and no
 * temp file, scratch folder, lock or claim left behind.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { leftovers, spawnCli, tempDir } from "./helpers.ts";

let work: ReturnType<typeof tempDir>;
let cleanRows: string;
const OPTS = ["--bins", "4", "--workers", "1", "--normalization", "mean"];
const runArgs = (out: string) => ["run", "--input", "samples/kcs20", "--out", out, ...OPTS];

function exported(run: string): string {
  const file = join(work.path, `export-${readdirSync(work.path).length}.csv`);
  const e = runCli(["export", "--run", run, "--out", file]);
  expect(e.stderr).not.toContain("warning");
  expect(e.status).toBe(0);
  return readFileSync(file, "utf8");
}

beforeAll(() => {
  work = tempDir("kill-run");
  const clean = join(work.path, "clean");
  expect(runCli(runArgs(clean)).status).toBe(0);
  cleanRows = exported(clean);
  expect(cleanRows.split("\n").length).toBeGreaterThan(100);
});
afterAll(() => work.cleanup());

describe("run killed with SIGKILL", () => {
  it.each(["cache-build", "plan"] as const)("during the %s: --resume names the command that finishes it, which does", async (point) => {
    const out = join(work.path, point);
    const killed = await spawnCli(runArgs(out), { NBLAST_FANOUT_KILL_AT: point });
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(join(out, "manifest.json"))).toBe(false);
    if (point === "cache-build") expect(readdirSync(join(out, "cache")).some((n) => n.startsWith(".cache-build-"))).toBe(true);
    expect(existsSync(join(out, ".nbf-lock.json"))).toBe(true); // the dead process's lock

    const resume = runCli(["run", "--resume", out]);
    expect(resume.status).toBe(2);
    expect(resume.stderr).toContain(`${out} was not planned yet`);
    expect(resume.stderr).toContain(`Finish it with the command that started it: nblast-fanout ${runArgs(out).join(" ")}`);
    expect(resume.stderr).not.toContain("was the run planned?");

    const again = runCli(runArgs(out));
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/finished: 4 bins computed/);
    expect(leftovers(out)).toEqual([]);
    expect(exported(out)).toBe(cleanRows);
  });

  it.each(["bin-scoring", "before-marker"] as const)("at %s: run --resume recomputes the bin and leaves nothing behind", async (point) => {
    const out = join(work.path, point);
    const killed = await spawnCli(runArgs(out), { NBLAST_FANOUT_KILL_AT: point });
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(join(out, "done", "0.json"))).toBe(false);
    // The killed process's claim on bin 0 is still there; its owner is gone, so it is taken over.
    expect(readdirSync(join(out, "claims"))).toEqual(["0.json"]);
    if (point === "before-marker") expect(existsSync(join(out, "shards", "bin=0.parquet"))).toBe(true);

    const status = runCli(["status", "--run", out]);
    expect(status.stdout).toContain("0 done, 0 failed, 4 pending");

    const again = runCli(["run", "--resume", out, "--workers", "1"]);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(/finished: 4 bins computed, 0 skipped/);
    expect(leftovers(out)).toEqual([]);
    expect(exported(out)).toBe(cleanRows);
  });
});
