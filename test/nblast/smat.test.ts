import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BinLookup,
  findBin,
  parseSmatCsv,
  parseSmatJson,
  SMAT_ALPHA_FCWB,
  SMAT_FCWB,
  smatToJson,
} from "../../src/nblast/smat.ts";
import type { ScoreMatrix } from "../../src/nblast/smat.ts";
import { inputError } from "../helpers/input-error.ts";

const SMAT = new URL("../fixtures/reference/smat/", import.meta.url);
const read = (f: string): string => readFileSync(new URL(f, SMAT), "utf8");

interface RefJson {
  distbreaks: number[];
  dotprodbreaks: number[];
  values: number[][];
}

const builtins: [string, ScoreMatrix, string][] = [
  ["fcwb", SMAT_FCWB, "smat_fcwb"],
  ["alpha-fcwb", SMAT_ALPHA_FCWB, "smat_alpha_fcwb"],
];

describe("built-in score matrices", () => {
  for (const [name, m, file] of builtins) {
    it(`${name} equals the reference JSON bit for bit`, () => {
      const ref = JSON.parse(read(`${file}.json`)) as RefJson;
      expect(m.name).toBe(name);
      expect(Array.from(m.distBreaks)).toEqual(ref.distbreaks);
      expect(Array.from(m.dotBreaks)).toEqual(ref.dotprodbreaks);
      expect(Array.from(m.values)).toEqual(ref.values.flat());
      // R's seq(0, 1, 0.1), not the decimal labels.
      expect(m.dotBreaks[3]).toBe(0.30000000000000004);
      expect(m.dotBreaks[6]).toBe(0.6000000000000001);
      expect(m.dotBreaks[7]).toBe(0.7000000000000001);
    });

    it(`${name}: parseSmatJson reads the reference file and smatToJson round-trips exactly`, () => {
      const parsed = parseSmatJson(read(`${file}.json`), `${file}.json`);
      expect(Array.from(parsed.values)).toEqual(Array.from(m.values));
      expect(Array.from(parsed.distBreaks)).toEqual(Array.from(m.distBreaks));
      const again = parseSmatJson(smatToJson(m), "roundtrip.json");
      expect(again.name).toBe(m.name);
      expect(Array.from(again.values)).toEqual(Array.from(m.values));
      expect(Array.from(again.distBreaks)).toEqual(Array.from(m.distBreaks));
      expect(Array.from(again.dotBreaks)).toEqual(Array.from(m.dotBreaks));
    });

    it(`${name}: the CSV gives breaks from its labels and values to 15 significant digits`, () => {
      const ref = JSON.parse(read(`${file}.json`)) as RefJson;
      const csv = parseSmatCsv(read(`${file}.csv`), `/some/dir/${file}.csv`);
      expect(csv.name).toBe(file);
      expect(Array.from(csv.distBreaks)).toEqual(ref.distbreaks.map((b) => Number(b.toPrecision(15))));
      expect(Array.from(csv.dotBreaks)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
      const flat = ref.values.flat();
      expect(csv.values.length).toBe(flat.length);
      for (let i = 0; i < flat.length; i++) expect(csv.values[i].toPrecision(15)).toBe(flat[i].toPrecision(15));
    });
  }
});

describe("bin look-up (R's findInterval(all.inside = TRUE))", () => {
  const dist = SMAT_FCWB.distBreaks;
  const dot = SMAT_FCWB.dotBreaks;
  const lookups = [new BinLookup(dist), new BinLookup(dot)];

  it("handles the edges", () => {
    const d = new BinLookup(dist);
    const last = dist.length - 2;
    expect(d.bin(-1)).toBe(0); // below the first break
    expect(d.bin(0)).toBe(0);
    expect(d.bin(0.75)).toBe(1); // exactly on a break: left-closed
    expect(d.bin(0.7499999999999999)).toBe(0);
    expect(d.bin(40)).toBe(last);
    expect(d.bin(499.99)).toBe(last);
    expect(d.bin(500)).toBe(last); // at the last break
    expect(d.bin(1e9)).toBe(last);
    expect(d.bin(Infinity)).toBe(last);
    const t = new BinLookup(dot);
    expect(t.bin(1)).toBe(9); // |dot| = 1
    expect(t.bin(1.0000000000000002)).toBe(9);
    expect(t.bin(0.3)).toBe(2); // 0.3 < 0.30000000000000004
    expect(t.bin(0.30000000000000004)).toBe(3);
    expect(t.bin(0.1)).toBe(1);
    expect(t.bin(0)).toBe(0);
    expect(t.bin(NaN)).toBe(0);
  });

  it("agrees with binary search everywhere, including one ulp around every break", () => {
    for (const [k, breaks] of [dist, dot].entries()) {
      const lookup = lookups[k];
      const xs: number[] = [];
      for (const b of breaks) {
        const up = b + Math.abs(b) * Number.EPSILON + Number.MIN_VALUE;
        const down = b - Math.abs(b) * Number.EPSILON - Number.MIN_VALUE;
        xs.push(b, up, down, b * (1 + 1e-15), b * (1 - 1e-15));
      }
      let s = 7;
      for (let i = 0; i < 20000; i++) xs.push(((s = (s * 16807) % 2147483647) / 2147483647) * breaks[breaks.length - 1] * 1.1 - 0.05);
      for (const x of xs) {
        const want = findBin(x, breaks);
        if (lookup.bin(x) !== want) expect({ x, bin: lookup.bin(x) }).toEqual({ x, bin: want });
      }
    }
  });

  it("works without a table for breaks too uneven for one", () => {
    const breaks = Float64Array.from([0, 1e-9, 2e-9, 1, 1e6]);
    const lookup = new BinLookup(breaks);
    for (const x of [-1, 0, 5e-10, 1e-9, 1.5e-9, 2e-9, 0.5, 1, 2, 1e6, 1e7]) expect(lookup.bin(x)).toBe(findBin(x, breaks));
    expect(lookup.bin(1.5e-9)).toBe(1);
  });
});

describe("score matrix input errors", () => {
  const header = '"","(0,0.5]","(0.5,1]"';

  it("names source and line for bad CSVs", () => {
    const ok = parseSmatCsv(`${header}\n"(0,1]",1,2\n"(1,5]",3,4\n`, "ok.csv");
    expect(Array.from(ok.distBreaks)).toEqual([0, 1, 5]);
    expect(Array.from(ok.dotBreaks)).toEqual([0, 0.5, 1]);
    expect(Array.from(ok.values)).toEqual([1, 2, 3, 4]);

    expect(inputError(() => parseSmatCsv(`${header}\n"(0,1]",1,2\n"(1,5]",3\n`, "a.csv")).message).toBe(
      "a.csv:3: expected 3 columns (a label and 2 values), found 2",
    );
    expect(inputError(() => parseSmatCsv(`${header}\n"(0,1]",1,NA\n`, "b.csv")).message).toBe(
      'b.csv:2: column 3 ((0.5,1]): "NA" is not a finite number',
    );
    expect(inputError(() => parseSmatCsv(`"","(0,0.5]","0.5 to 1"\n"(0,1]",1,2\n`, "c.csv")).message).toBe(
      'c.csv:1: |dot| bin label "0.5 to 1" is not an interval such as "(0,0.1]"',
    );
    expect(inputError(() => parseSmatCsv(`${header}\n"(0,1]",1,2\n"(2,5]",3,4\n`, "d.csv")).message).toBe(
      'd.csv:3: distance bin "(2,5]" does not start where the previous one ends (1)',
    );
    expect(inputError(() => parseSmatCsv("", "e.csv")).message).toMatch(/^e\.csv: empty file/);
    expect(inputError(() => parseSmatCsv(`${header}\n`, "f.csv")).message).toBe("f.csv:1: no distance rows after the header");
  });

  it("names the problem in bad JSON", () => {
    expect(inputError(() => parseSmatJson("{", "a.json")).message).toMatch(/^a\.json: not valid JSON/);
    expect(inputError(() => parseSmatJson("[]", "b.json")).message).toMatch(/^b\.json: expected a JSON object/);
    const good = { distbreaks: [0, 1, 2], dotprodbreaks: [0, 0.5, 1], values: [[1, 2], [3, 4]] };
    expect(parseSmatJson(JSON.stringify(good), "dir/good.json").name).toBe("good");
    expect(inputError(() => parseSmatJson(JSON.stringify({ ...good, values: [[1, 2]] }), "c.json")).message).toMatch(
      /'values' has 1 rows, expected 2/,
    );
    expect(inputError(() => parseSmatJson(JSON.stringify({ ...good, values: [[1, 2], [3]] }), "d.json")).message).toMatch(
      /values\[1\] has 1 entries, expected 2/,
    );
    expect(inputError(() => parseSmatJson(JSON.stringify({ ...good, distbreaks: [0, 2, 1] }), "e.json")).message).toMatch(
      /distance breaks must increase strictly: 2 then 1/,
    );
    expect(inputError(() => parseSmatJson(JSON.stringify({ ...good, dotprodbreaks: [0, "x", 1] }), "f.json")).message).toMatch(
      /'dotprodbreaks'\[1\] is "x", not a finite number/,
    );
  });
});
