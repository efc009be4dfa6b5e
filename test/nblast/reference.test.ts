/**
 * The kernel against published numbers: R's raw kcs20 all-by-all and the
 * reference table of every score mode (test/fixtures/reference/README.md).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { splitCsvLine } from "../../src/nblast/csv-line.ts";
import { parseDotpropsCsv, parsePointsCsv } from "../../src/nblast/dotprops-csv.ts";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import { scoreAllByAll } from "../../src/nblast/score.ts";
import type { Normalization } from "../../src/nblast/score.ts";
import type { Dotprops } from "../../src/nblast/types.ts";

const KCS20 = new URL("../fixtures/reference/kcs20/", import.meta.url);
const readText = (path: string): string => readFileSync(new URL(path, KCS20), "utf8");

function parseTable(text: string): string[][] {
  return text
    .trim()
    .split(/\r?\n/)
    .map((line) => {
      const f: string[] = [];
      splitCsvLine(line, f);
      return f;
    });
}

/** |got - want| <= 1e-9 |want|, or <= 1e-12 near zero. */
function close(got: number, want: number): boolean {
  return Math.abs(got - want) <= Math.max(1e-9 * Math.abs(want), 1e-12);
}

// kcscores_raw_R.csv: header = query names; each row = a target. ROWS ARE TARGETS, COLUMNS ARE QUERIES.
const rawTable = parseTable(readText("kcscores_raw_R.csv"));
const names = rawTable[0].slice(1);
const rDotprops: Dotprops[] = names.map((n) => parseDotpropsCsv(readText(`dotprops/${n}.csv`), n));

describe("kcs20 raw all-by-all against R (smat.fcwb)", () => {
  it("has 20 x 20 scores with matching row and column names", () => {
    expect(names).toHaveLength(20);
    expect(rawTable.slice(1).map((r) => r[0])).toEqual(names);
  });

  function compare(dps: Dotprops[]): void {
    const n = names.length;
    const s = scoreAllByAll(dps, dps); // rows = queries
    const bad: string[] = [];
    for (let t = 0; t < n; t++) {
      for (let q = 0; q < n; q++) {
        const want = Number(rawTable[t + 1][q + 1]);
        const got = s[q * n + t];
        if (!close(got, want)) bad.push(`query ${names[q]} target ${names[t]}: ${got} vs R ${want}`);
      }
    }
    expect(bad).toEqual([]);
  }

  it("from R's dotprops", () => compare(rDotprops));

  it("from dotprops computed here from the points", () => {
    compare(names.map((n) => computeDotprops(parsePointsCsv(readFileSync(new URL(`../../samples/kcs20/${n}.csv`, import.meta.url), "utf8"), n), 5)));
  });
});

describe("kcs20 every score mode against expected_modes.csv", () => {
  const table = parseTable(readText("expected_modes.csv"));
  const header = table[0];
  const rows = table.slice(1);
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`expected_modes.csv has no column ${name}`);
    return i;
  };
  const index = new Map(names.map((n, i) => [n, i]));
  const n = names.length;

  it("covers every ordered pair", () => {
    expect(rows).toHaveLength(n * n);
  });

  // column -> how to compute it: a mode with or without alpha, or the diagonal (self score).
  const columns: [string, Normalization | "self", boolean][] = [
    ["raw", "raw", false],
    ["query_self_raw", "self", false],
    ["normalized", "normalized", false],
    ["reverse_normalized", "normalized", false],
    ["mean", "mean", false],
    ["min", "min", false],
    ["max", "max", false],
    ["geometric_mean", "geometric-mean", false],
    ["harmonic_mean", "harmonic-mean", false],
    ["alpha_raw", "raw", true],
    ["alpha_query_self_raw", "self", true],
    ["alpha_normalized", "normalized", true],
    ["alpha_mean", "mean", true],
  ];
  it("names every column of the table", () => {
    expect(header.slice(2).sort()).toEqual(columns.map((c) => c[0]).sort());
  });

  for (const [name, mode, useAlpha] of columns) {
    it(name, () => {
      const raw = mode === "self" ? scoreAllByAll(rDotprops, rDotprops, { useAlpha }) : undefined;
      const s = raw ?? scoreAllByAll(rDotprops, rDotprops, { useAlpha, normalization: mode as Normalization });
      const c = col(name);
      const bad: string[] = [];
      for (const r of rows) {
        const q = index.get(r[0])!;
        const t = index.get(r[1])!;
        const want = Number(r[c]);
        // reverse_normalized is the target-as-query score; self scores sit on the diagonal.
        const got = name === "reverse_normalized" ? s[t * n + q] : mode === "self" ? s[q * n + q] : s[q * n + t];
        if (!close(got, want)) bad.push(`${r[0]} -> ${r[1]}: ${got} vs ${want}`);
      }
      expect(bad).toEqual([]);
    });
  }
});
