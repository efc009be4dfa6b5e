import { describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { applyPolicy, KEEP_ALL, type StoragePolicy } from "../../src/results/policy.ts";
import { RowsBuilder, type ScoreRows } from "../../src/results/rows.ts";
import { blockRows, tuples } from "./helpers.ts";

function rowsOf(list: Array<[number, number, number]>): ScoreRows {
  const b = new RowsBuilder();
  for (const [q, t, s] of list) b.push(BigInt(q), BigInt(t), s);
  return b.finish();
}

const policy = (p: Partial<StoragePolicy>): StoragePolicy => ({ ...KEEP_ALL, ...p });

describe("applyPolicy", () => {
  it("drops self pairs unless keepSelf", () => {
    const rows = rowsOf([[1, 1, 1], [1, 2, 0.5], [2, 2, 1], [2, 1, 0.5]]);
    expect(tuples(applyPolicy(rows, policy({ keepSelf: false })))).toEqual([[1, 2, 0.5], [2, 1, 0.5]]);
    expect(applyPolicy(rows, policy({ keepSelf: true })).length).toBe(4);
  });

  it("minScore is exclusive: a score equal to it is dropped, the next float32 up is kept", () => {
    const up = (x: number) => { const f = new Float32Array([x]); new Uint32Array(f.buffer)[0]++; return f[0]; };
    const rows = rowsOf([[1, 2, 0], [1, 3, -0], [1, 4, 1e-45], [1, 5, 0.5], [1, 6, up(0.5)], [1, 7, -0.25]]);
    expect(tuples(applyPolicy(rows, policy({ minScore: 0 })))).toEqual([[1, 4, 2 ** -149], [1, 5, 0.5], [1, 6, up(0.5)]]);
    expect(tuples(applyPolicy(rows, policy({ minScore: 0.5 })))).toEqual([[1, 6, up(0.5)]]);
    expect(applyPolicy(rows, policy({ minScore: undefined })).length).toBe(6);
  });

  it("compares the stored float32, not the computed double", () => {
    // stored: fround(0.1) = 0.10000000149..., above the double 0.1 -> kept;
    // fround(0.1000000016) is that same float32, below 0.10000000155 -> dropped
    const rows = rowsOf([[1, 2, 0.1], [1, 3, 0.1000000016]]);
    expect(Math.fround(0.1000000016)).toBe(Math.fround(0.1));
    expect(tuples(applyPolicy(rows, policy({ minScore: 0.1 })))).toEqual([[1, 2, Math.fround(0.1)], [1, 3, Math.fround(0.1)]]);
    expect(applyPolicy(rows, policy({ minScore: 0.10000000155 })).length).toBe(0);
    // and applying the policy again to what was kept changes nothing
    const kept = applyPolicy(rows, policy({ minScore: 0.1 }));
    expect(applyPolicy(kept, policy({ minScore: 0.1 }))).toBe(kept);
  });

  it("topN keeps the best per query, ties by target id ascending, output sorted by (query, target)", () => {
    const rows = rowsOf([
      [2, 9, 0.5], [1, 5, 0.5], [1, 3, 0.875], [1, 8, 0.5], [1, 4, 0.5], [1, 1, 0.125],
      [2, 7, 0.25], [2, 6, 0.25],
    ]);
    expect(tuples(applyPolicy(rows, policy({ topN: 3 })))).toEqual([
      [1, 3, 0.875], [1, 4, 0.5], [1, 5, 0.5], [2, 6, 0.25], [2, 7, 0.25], [2, 9, 0.5],
    ]);
    expect(tuples(applyPolicy(rows, policy({ topN: 1 })))).toEqual([[1, 3, 0.875], [2, 9, 0.5]]);
  });

  it("applies self and threshold filters before topN", () => {
    const rows = rowsOf([[1, 1, 1], [1, 2, 0.8], [1, 3, -0.5], [1, 4, 0.7], [1, 5, 0.6]]);
    const kept = applyPolicy(rows, { minScore: 0, topN: 2, keepSelf: false });
    expect(tuples(kept)).toEqual([[1, 2, Math.fround(0.8)], [1, 4, Math.fround(0.7)]]);
    const withSelf = applyPolicy(rows, { minScore: 0, topN: 2, keepSelf: true });
    expect(tuples(withSelf)).toEqual([[1, 1, 1], [1, 2, Math.fround(0.8)]]);
  });

  it("is idempotent and returns sorted input untouched when nothing is dropped", () => {
    const rows = blockRows([3, 1, 2], [5, 6, 7, 8, 9, 10], 7);
    const p: StoragePolicy = { minScore: -0.5, topN: 4, keepSelf: false };
    const once = applyPolicy(rows, p);
    expect(applyPolicy(once, p)).toBe(once);
    expect(applyPolicy(once, KEEP_ALL)).toBe(once);
  });

  it("rejects bad policies with InputError", () => {
    const rows = rowsOf([[1, 2, 0.5]]);
    expect(() => applyPolicy(rows, policy({ topN: 0 }))).toThrow(InputError);
    expect(() => applyPolicy(rows, policy({ topN: 1.5 }))).toThrow(/topN must be a positive integer/);
    expect(() => applyPolicy(rows, policy({ minScore: NaN }))).toThrow(/minScore/);
  });
});
