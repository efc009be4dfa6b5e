import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, copyFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseScoreCsv, runCli } from "../helpers/cli.ts";

const KCS20 = "test/fixtures/reference/kcs20";
const FC = "samples/fctraces20";

function rCsv(text: string): { cols: string[]; rows: Map<string, number[]> } {
  const lines = text.trimEnd().split(/\r?\n/);
  const unq = (s: string) => s.replace(/^"|"$/g, "");
  const cols = lines[0].split(",").slice(1).map(unq);
  const rows = new Map<string, number[]>();
  for (const l of lines.slice(1)) {
    const f = l.split(",");
    rows.set(unq(f[0]), f.slice(1).map(Number));
  }
  return { cols, rows };
}

describe("score", () => {
  it("reproduces R's raw kcs20 all-by-all from R's dotprops, through the CLI", () => {
    const r = runCli(["score", "--query", `${KCS20}/dotprops`, "--normalization", "raw"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const got = parseScoreCsv(r.stdout);
    expect(got.size).toBe(400);
    // R's matrix: rows are targets, columns are queries.
    const ref = rCsv(readFileSync(`${KCS20}/kcscores_raw_R.csv`, "utf8"));
    for (const [target, values] of ref.rows) {
      ref.cols.forEach((query, j) => {
        const s = got.get(`${query}|${target}`);
        expect(s, `${query} -> ${target}`).toBeDefined();
        expect(Math.abs((s as number) - values[j]) / Math.abs(values[j])).toBeLessThanOrEqual(1e-9);
      });
    }
  });

  it("scores SWC queries against SWC targets, normalized by default, self scores 1", () => {
    const files = readdirSync(FC).filter((f) => f.endsWith(".swc")).sort();
    const r = runCli(["score", "--query", join(FC, files[0]), join(FC, files[1]), "--target", FC]);
    expect(r.status).toBe(0);
    const got = parseScoreCsv(r.stdout);
    expect(got.size).toBe(2 * files.length);
    const q = files[0].replace(/\.swc$/, "");
    expect(got.get(`${q}|${q}`)).toBe(1);
    for (const v of got.values()) expect(Number.isFinite(v)).toBe(true);
  });

  it("gives symmetric scores in mean mode and the same file with --out as on stdout", () => {
    const dir = mkdtempSync(join(tmpdir(), "nbf-score-"));
    const out = join(dir, "scores.csv");
    const a = runCli(["score", "--query", FC, "--normalization", "mean", "--out", out]);
    expect(a.status).toBe(0);
    expect(a.stdout).toBe("");
    const b = runCli(["score", "--query", FC, "--normalization", "mean"]);
    expect(readFileSync(out, "utf8")).toBe(b.stdout);
    const got = parseScoreCsv(b.stdout);
    for (const [key, v] of got) {
      const [q, t] = key.split("|");
      expect(got.get(`${t}|${q}`)).toBe(v);
    }
    expect(readdirSync(dir)).toEqual(["scores.csv"]);
  });

  it("names the file, line and problem of a bad SWC, without a stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "nbf-bad-"));
    mkdirSync(join(dir, "in"));
    copyFileSync(join(FC, readdirSync(FC).filter((f) => f.endsWith(".swc"))[0]), join(dir, "in", "good.swc"));
    writeFileSync(join(dir, "in", "bad.swc"), "# a neuron\n1 2 0 0 0 1 -1\n2 2 1 0 0 1 7\n");
    const r = runCli(["score", "--query", join(dir, "in")]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/bad\.swc:3: .*parent.*7/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("rejects bad option values by naming the option", () => {
    const r = runCli(["score", "--query", FC, "--k", "zero"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("--k");
    const s = runCli(["score", "--query", FC, "--smat", "nosuch.csv"]);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain("--smat: 'nosuch.csv'");
  });
});
