/**
 * Exact by default: `run` with default options stores exactly `score`'s numbers (same
 * options) rounded once to float32. The cache is float64 by default, so nothing is rounded
 * before scoring.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectInputs } from "../../src/inputs/index.ts";
import { runCli } from "../helpers/cli.ts";

/** Several CLI processes in a row: on a loaded 2-core machine they take minutes, not seconds. */
const SLOW = 240_000;

const FC = "samples/fctraces20";

describe("run with default options", () => {
  it("exports score's numbers (same options) rounded once to float32, bit for bit, on fctraces20 SWCs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nbf-exact-"));
    const out = join(dir, "run");
    const r = runCli(["run", "--input", FC, "--out", out]);
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "cache", "cache.json"), "utf8")).precision).toBe("float64");
    const csv = join(dir, "merged.csv");
    expect(runCli(["export", "--run", out, "--out", csv]).status).toBe(0);
    const scoreCsv = join(dir, "score.csv");
    expect(runCli(["score", "--query", FC, "--out", scoreCsv]).status).toBe(0);

    // score: name,name,double; export: id,id,float32 (ids by sorted name, as collectInputs assigns them)
    const nameOf = new Map((await collectInputs([FC])).map((s) => [String(s.id), s.name]));
    const want = new Map<string, number>();
    for (const line of readFileSync(scoreCsv, "utf8").trimEnd().split("\n").slice(1)) {
      const [q, t, s] = line.split(",");
      want.set(`${q}|${t}`, Number(s));
    }
    expect(want.size).toBe(400);
    const rows = readFileSync(csv, "utf8").trimEnd().split("\n").slice(1);
    let same = 0;
    for (const row of rows) {
      const [q, t, s] = row.split(",");
      const key = `${nameOf.get(q)}|${nameOf.get(t)}`;
      const stored = Math.fround(Number(s)); // the float32 the shard holds
      expect(Object.is(stored, Math.fround(want.get(key)!)), `${key}: ${s} vs ${want.get(key)}`).toBe(true);
      same++;
    }
    // and every pair the defaults keep (positive float32 score, no self pairs) is there
    let kept = 0;
    for (const [key, s] of want) {
      const [q, t] = key.split("|");
      if (q !== t && Math.fround(s) > 0) kept++;
    }
    expect(same).toBe(kept);
    expect(kept).toBeGreaterThan(20);

    // Every pair, negative and self scores included: the storage options change what is kept, not the numbers.
    const all = join(dir, "all");
    expect(runCli(["run", "--cache", join(out, "cache"), "--out", all, "--keep-all", "--keep-self"]).status).toBe(0);
    const allCsv = join(dir, "all.csv");
    expect(runCli(["export", "--run", all, "--out", allCsv]).status).toBe(0);
    const allRows = readFileSync(allCsv, "utf8").trimEnd().split("\n").slice(1);
    expect(allRows).toHaveLength(400);
    for (const row of allRows) {
      const [q, t, s] = row.split(",");
      const key = `${nameOf.get(q)}|${nameOf.get(t)}`;
      expect(Object.is(Math.fround(Number(s)), Math.fround(want.get(key)!)), `${key}: ${s} vs ${want.get(key)}`).toBe(true);
    }
  }, SLOW);
});
