/**
 * Issue 8 part 5, complete or nothing: `export` and `top` use a run only when every bin is
 * done and its shard matches its done marker, else they exit 2 naming each bin left out;
 * `--partial` uses the done bins that hold and says how many are left out. `status` never
 * counts a shard that does not match its marker as done (by size always, by sha256 with
 * --verify), names it by path and exits 2.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

const SLOW = 240_000;
const FC = "samples/fctraces20";
let dir: string;
let run: string;
let good: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-complete-"));
  const inputs = join(dir, "in");
  mkdirSync(inputs);
  for (const f of readdirSync(FC).filter((f) => f.endsWith(".swc")).slice(0, 6)) copyFileSync(join(FC, f), join(inputs, f));
  run = join(dir, "run");
  const r = runCli(["run", "--input", inputs, "--out", run, "--bins", "4", "--threads", "2", "--keep-all"]);
  if (r.status !== 0) throw new Error(r.stderr);
  const csv = join(dir, "good.csv");
  if (runCli(["export", "--run", run, "--out", csv]).status !== 0) throw new Error("export failed");
  good = readFileSync(csv, "utf8");
}, SLOW);

/** A fresh copy of the finished run, to damage. */
function copyRun(name: string): string {
  const to = join(dir, name);
  for (const sub of ["done", "shards"]) mkdirSync(join(to, sub), { recursive: true });
  copyFileSync(join(run, "manifest.json"), join(to, "manifest.json"));
  for (const sub of ["done", "shards"]) for (const f of readdirSync(join(run, sub))) copyFileSync(join(run, sub, f), join(to, sub, f));
  return to;
}

function flip(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] ^= 0x10;
  writeFileSync(path, b);
}

describe("export and top on an incomplete run", () => {
  it("a bin without its done marker: exit 2 naming the bin; --partial succeeds and says how many are left out", () => {
    const r = copyRun("no-marker");
    rmSync(join(r, "done", "2.json"));
    const out = join(dir, "no-marker.csv");
    for (const args of [["export", "--run", r, "--out", out], ["top", "--run", r, "--neuron", "1"]]) {
      const res = runCli(args);
      expect(res.status).toBe(2);
      expect(res.stderr).toContain(`${r}: 1 of 4 bins are not done (2): their pairs would be missing`);
      expect(res.stderr).toContain("--partial");
      expect(res.stdout).toBe("");
    }
    expect(existsSync(out)).toBe(false);
    const ok = runCli(["export", "--run", r, "--out", out, "--partial"]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain("warning: --partial: 1 of 4 bins left out, 3 used (not done: 2)");
    const rows = readFileSync(out, "utf8").trimEnd().split("\n");
    const all = good.trimEnd().split("\n");
    expect(rows.length).toBeLessThan(all.length);
    expect(rows.every((l) => all.includes(l))).toBe(true);
    const top = runCli(["top", "--run", r, "--neuron", "1", "--partial"]);
    expect(top.status).toBe(0);
    expect(top.stderr).toContain("1 of 4 bins left out");
  }, SLOW);

  it("a missing or corrupt shard is named by path with what is wrong, and --partial leaves it out", () => {
    const r = copyRun("bad-shard");
    rmSync(join(r, "shards", "bin=0.parquet"));
    const s3 = join(r, "shards", "bin=3.parquet");
    flip(s3, Math.floor(readFileSync(s3).length / 2));
    const out = join(dir, "bad-shard.csv");
    const res = runCli(["export", "--run", r, "--out", out]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(`${r}/shards/bin=0.parquet is missing`);
    expect(res.stderr).toContain(`${r}/shards/bin=3.parquet does not match its done marker: sha256`);
    expect(res.stderr).not.toMatch(/thrift|\n\s+at /);
    const ok = runCli(["export", "--run", r, "--out", out, "--partial"]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain("--partial: 2 of 4 bins left out, 2 used");
    expect(ok.stderr).toContain(`bin 0: ${r}/shards/bin=0.parquet is missing`);
    expect(ok.stderr).toContain(`bin 3: ${r}/shards/bin=3.parquet does not match its done marker`);
  }, SLOW);
});

describe("status", () => {
  it("with --verify does not count a shard with a flipped byte as done, names it and exits 2", () => {
    const r = copyRun("status-flip");
    const s1 = join(r, "shards", "bin=1.parquet");
    flip(s1, Math.floor(readFileSync(s1).length / 2));
    const v = runCli(["status", "--run", r, "--verify"]);
    expect(v.status).toBe(2);
    expect(v.stdout).toContain(`${r}: 4 bins, 3 done, 0 failed, 1 pending`);
    expect(v.stdout).toContain(`bin 1 is not done: ${r}/shards/bin=1.parquet does not match its done marker: sha256`);
    expect(v.stderr).toContain("recompute them: nblast-fanout run --resume");
    const json = JSON.parse(runCli(["status", "--run", r, "--verify", "--json"]).stdout);
    expect(json.counts.done).toBe(3);
    expect(json.stale).toEqual([{ bin: 1, reason: expect.stringContaining("bin=1.parquet does not match") }]);
    // the clean run passes
    expect(runCli(["status", "--run", run, "--verify"]).status).toBe(0);
  }, SLOW);

  it("without --verify still refuses a truncated or missing shard as done", () => {
    const r = copyRun("status-trunc");
    const s2 = join(r, "shards", "bin=2.parquet");
    writeFileSync(s2, readFileSync(s2).subarray(0, 100));
    const v = runCli(["status", "--run", r]);
    expect(v.status).toBe(2);
    expect(v.stdout).toContain("3 done");
    expect(v.stdout).toContain(`bin 2 is not done: ${r}/shards/bin=2.parquet is missing or of another size`);
  }, SLOW);
});
