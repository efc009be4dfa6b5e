import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ldAdd, ldDivInt, ldHi, ldLo, ldSum3 } from "../../src/nblast/long-double.ts";

interface Vectors {
  sum3: [number, number, number, number][];
  cumsum: { x: number[]; sums: number[] }[];
}
const vectors = JSON.parse(readFileSync(new URL("../fixtures/long-double/vectors.json", import.meta.url), "utf8")) as Vectors;

describe("long double sums (x87, as R's rowSums/cumsum on x86-64)", () => {
  it("rounds each partial sum to 64 bits, then to a double (double rounding)", () => {
    // 1 + 2^-53 + 2^-65 is nearer 1 + 2^-52 than 1, but in 64 bits the 2^-65 is lost,
    // leaving a tie that rounds to 1.
    expect(ldSum3(1, 2 ** -53, 2 ** -65)).toBe(1);
    expect(ldSum3(2 ** -65, 2 ** -53, 1)).toBe(1);
    // Where doubles lose 2^-53 twice, the 64-bit partial sum keeps it.
    expect(1 + 2 ** -53 + 2 ** -53).toBe(1);
    expect(ldSum3(1, 2 ** -53, 2 ** -53)).toBe(1 + 2 ** -52);
  });

  it("matches gcc's long double on the reference sums of three squares", () => {
    let plainDiffers = 0;
    for (const [a, b, c, expected] of vectors.sum3) {
      expect(ldSum3(a, b, c), `${a} ${b} ${c}`).toBe(expected);
      if (a + b + c !== expected) plainDiffers++;
    }
    // The reference is not trivially what double arithmetic gives.
    expect(plainDiffers).toBeGreaterThan(20);
  });

  it("matches gcc's long double on the reference running sums", () => {
    for (const { x, sums } of vectors.cumsum) {
      let hi = 0, lo = 0;
      for (let i = 0; i < x.length; i++) {
        ldAdd(hi, lo, x[i]);
        hi = ldHi();
        lo = ldLo();
        expect(hi).toBe(sums[i]);
      }
    }
  });

  it("keeps hi + lo exact for a 64-bit value", () => {
    ldAdd(1, 0, 2 ** -60);
    expect(ldHi()).toBe(1);
    expect(ldLo()).toBe(2 ** -60);
    ldAdd(ldHi(), ldLo(), 2 ** -61);
    expect(ldLo()).toBe(2 ** -60 + 2 ** -61);
    ldAdd(ldHi(), ldLo(), 2 ** -70); // below the 64-bit grid at 1: lost
    expect(ldLo()).toBe(2 ** -60 + 2 ** -61);
  });
});

describe("long double means (as R's rowMeans on x86-64)", () => {
  const means = JSON.parse(readFileSync(new URL("../fixtures/long-double/means.json", import.meta.url), "utf8")) as { x: number[]; mean: number }[];

  it("ldDivInt of a long double sum matches gcc's (sum / k) cast to double", () => {
    let plainDiffers = 0;
    for (const { x, mean } of means) {
      let hi = 0, lo = 0;
      for (const v of x) {
        ldAdd(hi, lo, v);
        hi = ldHi();
        lo = ldLo();
      }
      expect(ldDivInt(hi, lo, x.length), x.join(" ")).toBe(mean);
      let plain = 0;
      for (const v of x) plain += v;
      if (plain / x.length !== mean) plainDiffers++;
    }
    // The reference is not what double arithmetic gives.
    expect(plainDiffers).toBeGreaterThan(50);
  });

  it("rounds twice: to 64 bits, then to a double", () => {
    // (1 + 2^-53 + 2^-64) / 1: 64-bit rounding makes it a tie at 53 bits, which goes to even (1).
    ldAdd(1, 0, 2 ** -53);
    ldAdd(ldHi(), ldLo(), 2 ** -64);
    expect(ldDivInt(ldHi(), ldLo(), 1)).toBe(1);
    expect(ldDivInt(3, 0, 3)).toBe(1);
    expect(ldDivInt(0, 0, 5)).toBe(0);
    expect(ldDivInt(-1, 0, 3)).toBe(-1 / 3);
  });
});
