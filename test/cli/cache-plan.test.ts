import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

const FC = "samples/fctraces20";
let dir: string;
let inputs: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-cli-"));
  inputs = join(dir, "in");
  mkdirSync(inputs);
  for (const f of readdirSync(FC).filter((f) => f.endsWith(".swc")).slice(0, 6)) copyFileSync(join(FC, f), join(inputs, f));
  writeFileSync(join(inputs, "broken.swc"), "1 2 0 0 0 1 -1\n2 2 nan 0 0 1 1\n");
});

describe("cache build and cache info", () => {
  it("keeps the good neurons, reports the broken one, and prints the cache's parameters", () => {
    const out = join(dir, "cache");
    const r = runCli(["cache", "build", "--input", inputs, "--out", out, "--threads", "2", "--precision", "float64"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("6 neurons");
    expect(r.stderr).toMatch(/broken\.swc:2: /);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as { failed: { path: string }[] };
    expect(report.failed.map((f) => f.path.split("/").pop())).toEqual(["broken.swc"]);
    const info = runCli(["cache", "info", out, "--verify"]);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/neurons\s+6/);
    expect(info.stdout).toContain("float64");
    expect(info.stdout).toContain("verified:");
  });

  it("with --strict fails on the broken neuron, naming it, and writes no cache", () => {
    const out = join(dir, "strict");
    const r = runCli(["cache", "build", "--input", inputs, "--out", out, "--strict"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("broken.swc");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(runCli(["cache", "info", out]).status).toBe(2);
  });
});

describe("plan", () => {
  it("writes a manifest once, accepts an identical rerun and refuses a different plan", () => {
    const cache = join(dir, "cache-plan");
    expect(runCli(["cache", "build", "--input", FC, "--out", cache]).status).toBe(0);
    const run = join(dir, "run");
    const args = ["plan", "--cache", cache, "--out", run, "--bins", "4", "--normalization", "mean"];
    const a = runCli(args);
    expect(a.status).toBe(0);
    expect(a.stderr).toMatch(/planned .*20 queries x 20 targets, mean/);
    expect(a.stderr).toMatch(/cost : 4 bins, .*max\/mean/);
    expect(a.stderr).toMatch(/cable: 4 bins, .*for comparison/);
    const manifest = readFileSync(join(run, "manifest.json"), "utf8");
    const b = runCli(args);
    expect(b.status).toBe(0);
    expect(b.stderr).toContain("already planned (identical)");
    const c = runCli([...args.slice(0, -1), "max"]);
    expect(c.status).toBe(2);
    expect(c.stderr).toContain("already has a different plan");
    expect(readFileSync(join(run, "manifest.json"), "utf8")).toBe(manifest);
  });
});
