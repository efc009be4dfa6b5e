import { describe, expect, it } from "vitest";
import { RowsBuilder, sliceRows, sortRows, validateRows } from "../../src/results/rows.ts";
import { bigTuples, tuples } from "./helpers.ts";

describe("RowsBuilder", () => {
  it("grows by doubling and keeps every row", () => {
    const b = new RowsBuilder(true, 1);
    for (let i = 0; i < 1000; i++) b.push(BigInt(i), BigInt(1000 - i), i / 7, -i, i * 2);
    const rows = b.finish();
    expect(rows.length).toBe(1000);
    expect(rows.queryId.length).toBe(1000);
    expect(rows.forward!.length).toBe(1000);
    expect(rows.queryId[999]).toBe(999n);
    expect(rows.targetId[999]).toBe(1n);
    expect(rows.score[700]).toBe(Math.fround(100));
    expect(rows.reverse![3]).toBe(6);
  });

  it("stores scores as float32 (Math.fround)", () => {
    const b = new RowsBuilder();
    b.push(1n, 2n, 0.1);
    expect(b.finish().score[0]).toBe(Math.fround(0.1));
  });

  it("refuses NaN, infinite and float32-overflowing scores, naming the pair", () => {
    const b = new RowsBuilder(true);
    expect(() => b.push(1n, 2n, NaN, 0, 0)).toThrow(/score NaN for \(query 1, target 2\).*finite/);
    expect(() => b.push(1n, 2n, Infinity, 0, 0)).toThrow(RangeError);
    expect(() => b.push(1n, 2n, 1e39, 0, 0)).toThrow(/not a finite float32/);
    expect(() => b.push(1n, 2n, 0, NaN, 0)).toThrow(/forward NaN/);
    expect(() => b.push(1n, 2n, 0, 0, -Infinity)).toThrow(/reverse/);
    expect(() => b.push(1n, 2n, 0)).toThrow(/both are required/);
    expect(b.length).toBe(0);
  });

  it("refuses negative ids and ids above 2^63 - 1, and keeps every id up to it exactly", () => {
    const b = new RowsBuilder();
    expect(() => b.push(-1n, 2n, 0)).toThrow(/from 0 to 2\^63 - 1/);
    expect(() => b.push(1n, 1n << 63n, 0)).toThrow(/from 0 to 2\^63 - 1/);
    b.push((1n << 63n) - 1n, (1n << 53n) + 1n, 0);
    const words = new Uint32Array(BigInt64Array.from([720575940621039145n, 9007199254740993n]).buffer);
    b.pushFrom(words, 0, 1, 0.5);
    expect(b.length).toBe(2);
    const rows = b.finish();
    expect([...rows.queryId]).toEqual([(1n << 63n) - 1n, 720575940621039145n]);
    expect([...rows.targetId]).toEqual([(1n << 53n) + 1n, 9007199254740993n]);
  });

  it("appends slices of other rows and can be reused after clear()", () => {
    const src = new RowsBuilder();
    for (let i = 0; i < 10; i++) src.push(BigInt(i), BigInt(i + 1), i);
    const rows = src.finish();
    const b = new RowsBuilder(false, 2);
    b.append(rows, 3, 8);
    b.append(rows, 0, 1);
    expect(tuples(b.finish())).toEqual([[3, 4, 3], [4, 5, 4], [5, 6, 5], [6, 7, 6], [7, 8, 7], [0, 1, 0]]);
    b.clear();
    b.push(9n, 9n, 9);
    expect(tuples(b.finish())).toEqual([[9, 9, 9]]);
  });
});

describe("sortRows", () => {
  it("returns sorted input unchanged and sorts the rest by (query, target)", () => {
    const b = new RowsBuilder(true);
    b.push(5n, 1n, 0.5, 1, 2);
    b.push(1n << 40n, 3n, 0.25, 3, 4);
    b.push(5n, 0n, 0.75, 5, 6);
    b.push(3n, 9n, -1, 7, 8);
    b.push((1n << 53n) + 1n, 1n, 1, 1, 1);
    b.push(1n << 53n, 2n, 1, 1, 1);
    b.push(4294967296n, 7n, 1, 1, 1); // 2^32: a high word, no low word
    b.push(4294967295n, 7n, 1, 1, 1);
    const sorted = sortRows(b.finish());
    expect(tuples(sliceRows(sorted, 0, 6))).toEqual([
      [3, 9, -1, 7, 8], [5, 0, 0.75, 5, 6], [5, 1, 0.5, 1, 2], [4294967295, 7, 1, 1, 1], [4294967296, 7, 1, 1, 1],
      [2 ** 40, 3, 0.25, 3, 4],
    ]);
    expect(bigTuples(sorted).slice(-2)).toEqual([[1n << 53n, 2n, 1], [(1n << 53n) + 1n, 1n, 1]]);
    expect(sortRows(sorted)).toBe(sorted);
  });

  it("refuses duplicate pairs", () => {
    const b = new RowsBuilder();
    b.push(2n, 1n, 0.5);
    b.push(1n, 1n, 0.5);
    b.push(2n, 1n, 0.25);
    expect(() => sortRows(b.finish())).toThrow(/duplicate pair \(query 2, target 1\)/);
  });
});

describe("validateRows", () => {
  it("checks column lengths and that forward/reverse come together", () => {
    const rows = { queryId: new BigInt64Array(2), targetId: new BigInt64Array(2), score: new Float32Array(1), length: 2 };
    expect(() => validateRows(rows)).toThrow(/score has 1 values, expected 2/);
    const half = { ...rows, score: new Float32Array(2), forward: new Float32Array(2) };
    expect(() => validateRows(half)).toThrow(/both present or both absent/);
  });
});
