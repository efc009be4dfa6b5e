import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-prune-"));
});

/** Runs fctraces20 (neurons spread through the brain: most pairs are hopeless) and exports its rows. */
function runAndExport(name: string, args: string[]): { stderr: string; csv: string } {
  const out = join(dir, name);
  const r = runCli(["run", "--input", "samples/fctraces20", "--out", out, "--bins", "3", "--workers", "2", ...args]);
  expect(r.status, r.stderr).toBe(0);
  const file = join(dir, `${name}.csv`);
  expect(runCli(["export", "--run", out, "--format", "csv", "--out", file]).status).toBe(0);
  return { stderr: r.stderr, csv: readFileSync(file, "utf8") };
}

describe("run with and without pruning", () => {
  for (const [name, args] of [
    ["normalized", ["--normalization", "normalized"]],
    ["mean", ["--normalization", "mean"]],
    ["topn", ["--normalization", "normalized", "--top-n", "2"]],
  ] as const) {
    it(`exports exactly the same rows (${name})`, { timeout: 120_000 }, () => {
      const on = runAndExport(`${name}-on`, [...args]);
      const off = runAndExport(`${name}-off`, [...args, "--no-prune"]);
      const pruned = Number(/(\d+) of them pruned/.exec(on.stderr)?.[1]);
      expect(pruned).toBeGreaterThan(0);
      expect(off.stderr).toContain(" 0 of them pruned");
      expect(on.csv.split("\n").length).toBeGreaterThan(5);
      expect(on.csv).toBe(off.csv);
    });
  }

  it("refuses to prune under --keep-all, with a note", { timeout: 120_000 }, () => {
    const r = runAndExport("keep-all", ["--keep-all"]);
    expect(r.stderr).toContain("note: --keep-all stores every score, so no pair can be pruned");
    expect(r.stderr).toContain(" 0 of them pruned");
  });
});
