/**
 * A spread set planned in space order (pairs too far apart never planned, the rest pruned
 * in bins where provable) stores exactly the rows of a plan of every pair, searched in
 * full: normalized, mean and top-N.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAFB_FRAGMENTS, generateFragmentSet, randomWalkSwc, Rng } from "../../src/synth/index.ts";
import { runCli } from "../helpers/cli.ts";

let dir: string;
let input: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-spatial-"));
  input = join(dir, "spread");
  mkdirSync(input);
  // 240 fragments in a 160 x 90 x 60 um block: most pairs far apart, some overlapping
  const rng = new Rng(77);
  for (const f of generateFragmentSet(240, 5, FAFB_FRAGMENTS)) {
    const origin: [number, number, number] = [rng.next() * 160, rng.next() * 90, rng.next() * 60];
    writeFileSync(join(input, `${f.id}.swc`), randomWalkSwc(Math.min(f.cable, 150), Number(f.id), { origin }));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runAndExport(name: string, args: string[]): { stderr: string; csv: string } {
  const out = join(dir, name);
  const r = runCli(["run", "--input", input, "--out", out, "--bins", "5", "--threads", "2", ...args]);
  expect(r.status, r.stderr).toBe(0);
  const file = join(dir, `${name}.csv`);
  const e = runCli(["export", "--run", out, "--format", "csv", "--out", file]);
  expect(e.status, e.stderr).toBe(0);
  return { stderr: r.stderr, csv: readFileSync(file, "utf8") };
}

describe("run planned in space order", () => {
  for (const [name, args] of [
    ["normalized", ["--normalization", "normalized"]],
    ["mean", ["--normalization", "mean"]],
    ["topn", ["--normalization", "mean", "--top-n", "2"]],
  ] as const) {
    it(`stores exactly the rows of every pair searched in full (${name})`, { timeout: 120_000 }, () => {
      const space = runAndExport(`${name}-space`, [...args]);
      const full = runAndExport(`${name}-full`, [...args, "--no-spatial", "--no-prune"]);
      const m = /space order: ([\d,]+) of ([\d,]+) (unordered|ordered) pairs planned; ([\d,]+) \(([\d.]+)%\) have boxes 12 um or more apart/.exec(space.stderr);
      expect(m, space.stderr).not.toBeNull();
      const num = (s: string): number => Number(s.replace(/,/g, ""));
      expect(num(m![1]) + num(m![4])).toBe(num(m![2]));
      expect(Number(m![5])).toBeGreaterThan(50);
      expect(full.stderr).not.toContain("space order");
      expect(full.stderr).toContain(" 0 of them pruned");
      expect(space.csv.split("\n").length).toBeGreaterThan(20);
      expect(space.csv).toBe(full.csv);
    });
  }

  it("plans every pair under --keep-all, where a far pair's negative score is kept", { timeout: 120_000 }, () => {
    const r = runCli(["plan", "--cache", join(dir, "mean-space", "cache"), "--out", join(dir, "keep-all"), "--keep-all", "--normalization", "mean"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("space order");
    const manifest = JSON.parse(readFileSync(join(dir, "keep-all", "manifest.json"), "utf8"));
    expect(manifest.work.order).toBeUndefined();
    expect(manifest.work.skipped).toBeUndefined();
  });
});
