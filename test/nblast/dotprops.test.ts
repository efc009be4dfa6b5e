import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  isDotpropsCsvHeader,
  isPointsCsvHeader,
  parseDotpropsCsv,
  parsePointsCsv,
} from "../../src/nblast/dotprops-csv.ts";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import { lapackEigen3 } from "../../src/nblast/lapack-eigen.ts";
import { inputError } from "../helpers/input-error.ts";

const KCS20 = new URL("../fixtures/reference/kcs20/", import.meta.url);
const POINTS = new URL("../../samples/kcs20/", import.meta.url);
const names = readdirSync(POINTS)
  .filter((f) => f.endsWith(".csv"))
  .map((f) => f.slice(0, -4))
  .sort();
const read = (sub: "points" | "dotprops", name: string): string =>
  readFileSync(new URL(`${name}.csv`, sub === "points" ? POINTS : new URL("dotprops/", KCS20)), "utf8");

describe("computeDotprops against R's nat::dotprops (kcs20, k = 5)", () => {
  it("has all 20 neurons", () => expect(names).toHaveLength(20));

  for (const name of names) {
    it(name, () => {
      const points = parsePointsCsv(read("points", name), name);
      const r = parseDotpropsCsv(read("dotprops", name), name);
      // R's rows are the points' rows, in the same order.
      expect(Array.from(r.points)).toEqual(Array.from(points));
      const mine = computeDotprops(points, 5);
      expect(Array.from(mine.points)).toEqual(Array.from(points));
      let worstDot = 0;
      let worstAlpha = 0;
      for (let i = 0; i < r.alpha.length; i++) {
        const dot = mine.vect[3 * i] * r.vect[3 * i] + mine.vect[3 * i + 1] * r.vect[3 * i + 1] + mine.vect[3 * i + 2] * r.vect[3 * i + 2];
        worstDot = Math.max(worstDot, 1 - Math.abs(dot));
        worstAlpha = Math.max(worstAlpha, Math.abs(mine.alpha[i] - r.alpha[i]));
        const norm = Math.hypot(mine.vect[3 * i], mine.vect[3 * i + 1], mine.vect[3 * i + 2]);
        expect(Math.abs(norm - 1)).toBeLessThan(1e-12);
      }
      expect(worstDot).toBeLessThanOrEqual(1e-9);
      expect(worstAlpha).toBeLessThanOrEqual(1e-9);
    });
  }
});

describe("computeDotprops edge cases", () => {
  it("uses all points when there are fewer than k", () => {
    const pts = new Float64Array([0, 0, 0, 1, 2, 0, 3, 1, 1]);
    const a = computeDotprops(pts, 5);
    const b = computeDotprops(pts, 3);
    expect(Array.from(a.vect)).toEqual(Array.from(b.vect));
    expect(Array.from(a.alpha)).toEqual(Array.from(b.alpha));
  });

  it("gives alpha 1 and the line's direction for collinear points", () => {
    const pts = new Float64Array(30);
    for (let i = 0; i < 10; i++) {
      pts[3 * i] = 1 + 2 * i;
      pts[3 * i + 1] = 2 - 2 * i;
      pts[3 * i + 2] = 3 + i;
    }
    const dp = computeDotprops(pts, 5);
    for (let i = 0; i < 10; i++) {
      expect(dp.alpha[i]).toBeCloseTo(1, 12);
      const dot = (dp.vect[3 * i] * 2 - dp.vect[3 * i + 1] * 2 + dp.vect[3 * i + 2]) / 3;
      expect(Math.abs(dot)).toBeCloseTo(1, 12);
    }
  });

  it("follows R for coincident neighbourhoods: vect (0, 0, 1), alpha NaN", () => {
    const pts = new Float64Array(15).fill(7);
    const dp = computeDotprops(pts, 5);
    expect(Array.from(dp.vect.subarray(0, 3))).toEqual([0, 0, 1]);
    expect(dp.alpha[0]).toBeNaN();
  });

  it("rejects a bad k or a ragged coordinate array", () => {
    expect(() => computeDotprops(new Float64Array(9), 0)).toThrow(/k must be/);
    expect(() => computeDotprops(new Float64Array(9), 2.5)).toThrow(/k must be/);
    expect(() => computeDotprops(new Float64Array(10), 5)).toThrow(/multiple of 3/);
  });

  it("accepts Float32Array points", () => {
    const pts = Float32Array.from(parsePointsCsv(read("points", names[0]), names[0]));
    const dp = computeDotprops(pts, 5);
    expect(dp.alpha.length).toBe(pts.length / 3);
    expect(dp.points).toBeInstanceOf(Float64Array);
  });
});

describe("lapackEigen3 (LAPACK dsyevr, as R's eigen)", () => {
  function check(a: number[]): void {
    const [a00, a01, a02, a11, a12, a22] = a;
    const out = new Float64Array(6);
    lapackEigen3(a00, a01, a02, a11, a12, a22, out);
    const m = [
      [a00, a01, a02],
      [a01, a11, a12],
      [a02, a12, a22],
    ];
    const scale = Math.max(1e-300, ...a.map(Math.abs));
    expect(out[0]).toBeGreaterThanOrEqual(out[1]);
    expect(out[1]).toBeGreaterThanOrEqual(out[2]);
    const v = [out[3], out[4], out[5]];
    expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-14);
    for (let r = 0; r < 3; r++) {
      const mv = m[r][0] * v[0] + m[r][1] * v[1] + m[r][2] * v[2];
      expect(Math.abs(mv - out[0] * v[r]) / scale).toBeLessThan(1e-13);
    }
    // Trace is preserved.
    expect(Math.abs(out[0] + out[1] + out[2] - (a00 + a11 + a22)) / scale).toBeLessThan(1e-14);
  }

  it("decomposes random, diagonal, degenerate and rank-deficient matrices", () => {
    let s = 12345;
    const r = (): number => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let t = 0; t < 500; t++) check([r(), r(), r(), r(), r(), r()].map((x) => x * 10 ** Math.floor(r() * 4)));
    check([3, 0, 0, 1, 0, 2]);
    check([1, 0, 0, 1, 0, 1]);
    check([2, 1, 1, 2, 1, 2]); // eigenvalues 4, 1, 1
    check([1, 1, 1, 1, 1, 1]); // rank 1
    check([0, 0, 0, 0, 0, 0]);
    check([1e-20, 1e-30, 0, 1e-20, 0, 5]);
  });

  it("gives the same bits call after call (its heap state does not leak between calls)", () => {
    const a = new Float64Array(6), b = new Float64Array(6), junk = new Float64Array(6);
    lapackEigen3(2, 1, 0.5, 3, 0.25, 1, a);
    lapackEigen3(1e-20, 1e-30, 0, 1e-20, 0, 5, junk);
    lapackEigen3(2, 1, 0.5, 3, 0.25, 1, b);
    expect([...b]).toEqual([...a]);
  });
});

describe("dotprops and points CSV", () => {
  const R_HEADER = '"","points.X","points.Y","points.Z","alpha","vect.1","vect.2","vect.3"';

  it("sniffs the two headers", () => {
    expect(isDotpropsCsvHeader(R_HEADER)).toBe(true);
    expect(isPointsCsvHeader(R_HEADER)).toBe(false);
    expect(isPointsCsvHeader('"","X","Y","Z"')).toBe(true);
    expect(isPointsCsvHeader("idx,X,Y,Z")).toBe(true);
    expect(isPointsCsvHeader("x,y,z")).toBe(true);
    expect(isDotpropsCsvHeader("idx,X,Y,Z")).toBe(false);
    expect(isPointsCsvHeader("PointNo Label X Y Z Radius Parent")).toBe(false);
    expect(isDotpropsCsvHeader("\ufeff" + R_HEADER)).toBe(true);
  });

  it("parses R's export, quoted or not, with CRLF and a BOM", () => {
    const text = `\ufeff${R_HEADER}\r\n"1",1,2,3,0.5,1,0,0\r\n"2",4.5,-5e-1,6,1,0,0.6,0.8\r\n\r\n`;
    const dp = parseDotpropsCsv(text, "a.csv");
    expect(Array.from(dp.points)).toEqual([1, 2, 3, 4.5, -0.5, 6]);
    expect(Array.from(dp.alpha)).toEqual([0.5, 1]);
    expect(Array.from(dp.vect)).toEqual([1, 0, 0, 0, 0.6, 0.8]);
    const unquoted = parseDotpropsCsv("points.X,points.Y,points.Z,alpha,vect.1,vect.2,vect.3\n1,2,3,0.5,1,0,0\n", "b.csv");
    expect(Array.from(unquoted.points)).toEqual([1, 2, 3]);
  });

  it("parses points CSVs", () => {
    expect(Array.from(parsePointsCsv('"","X","Y","Z"\n"1",1,2,3\n"2",4,5,6\n', "p.csv"))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(parsePointsCsv("idx,X,Y,Z\n0,1,2,3\n", "p.csv"))).toEqual([1, 2, 3]);
    expect(Array.from(parsePointsCsv("Z,Y,X\n3,2,1\n", "p.csv"))).toEqual([1, 2, 3]);
  });


  it("names source, line and problem for bad input", () => {
    let e = inputError(() => parseDotpropsCsv(`${R_HEADER}\n"1",1,2,3,0.5,1,0,0\n"2",1,2,3,0.5,1,0\n`, "n1.csv"));
    expect(e.message).toBe("n1.csv:3: expected 8 columns as in the header, found 7");
    expect(e.source).toBe("n1.csv");
    expect(e.line).toBe(3);

    e = inputError(() => parseDotpropsCsv(`${R_HEADER}\n"1",1,2,3,NA,1,0,0\n`, "n2.csv"));
    expect(e.message).toBe('n2.csv:2: column alpha: "NA" is not a number');

    e = inputError(() => parseDotpropsCsv(`${R_HEADER}\n"1",1,2,3,0.5,Inf,0,0\n`, "n3.csv"));
    expect(e.message).toMatch(/^n3\.csv:2: column vect\.1: "Inf" is not a number/);

    e = inputError(() => parsePointsCsv("X,Y,Z\n1,2,1e999\n", "n4.csv"));
    expect(e.message).toBe('n4.csv:2: column Z: "1e999" is not finite');

    e = inputError(() => parsePointsCsv("X,Y,Z\n1,,3\n", "n5.csv"));
    expect(e.message).toBe("n5.csv:2: column Y: empty value");

    e = inputError(() => parsePointsCsv("", "empty.csv"));
    expect(e.message).toMatch(/^empty\.csv: empty file/);

    e = inputError(() => parsePointsCsv("X,Y,Z\n\n", "header-only.csv"));
    expect(e.message).toBe("header-only.csv:1: no data rows after the header");

    e = inputError(() => parsePointsCsv("1,2,3\n4,5,6\n", "no-header.csv"));
    expect(e.message).toMatch(/^no-header\.csv:1: not a points CSV header/);

    e = inputError(() => parseDotpropsCsv('"","points.X","points.Y","points.Z","alpha"\n', "partial.csv"));
    expect(e.message).toMatch(/^partial\.csv:1: not a dotprops CSV header: missing column\(s\) vect\.1, vect\.2, vect\.3/);

    e = inputError(() => parsePointsCsv("\n\nX,Y,Z\n1,2,3\n1,2\n", "blank-lines.csv"));
    expect(e.line).toBe(5);
  });
});
