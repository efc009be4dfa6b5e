import { describe, expect, it } from "vitest";
import { binBalance, formatBalance, spread } from "../../src/worker/balance.ts";

describe("bin balance: estimated against measured spread", () => {
  it("spread gives min, median, max and max/mean", () => {
    expect(spread([3, 1, 2, 6])).toEqual({ min: 1, median: 2.5, max: 6, maxOverMean: 2 });
    expect(spread([5])).toEqual({ min: 5, median: 5, max: 5, maxOverMean: 1 });
    expect(spread([])).toEqual({ min: 0, median: 0, max: 0, maxOverMean: 0 });
  });

  it("sets each bin's measured seconds against its estimated cost", () => {
    // Equal estimates, one bin twice as slow: the model missed what made it slow.
    const b = binBalance([1e6, 1e6, 1e6], [1, 1, 2]);
    expect(b.bins).toBe(3);
    expect(b.estimated.maxOverMean).toBe(1);
    expect(b.measured.maxOverMean).toBeCloseTo(1.5, 12);
    expect(b.secondsPerMegaUnit).toEqual({ min: 1, median: 1, max: 2, maxOverMean: 1.5 });
    const lines = formatBalance(b);
    expect(lines[0]).toContain("balance over 3 done bins");
    expect(lines[0]).toContain("max/mean 1.000");
    expect(lines[1]).toContain("max/mean 1.500; 1.00-2.00 vCPU-s per million cost units");
    expect(lines[1]).not.toContain("warm-up");
    // Bins of a fraction of a second measure the kernel's warm-up more than the plan: said so.
    expect(formatBalance(binBalance([1e6, 1e6, 1e6], [0.01, 0.02, 0.2]))[1]).toContain("(bins under 1 vCPU-s: warm-up dominates what they measure)");
  });

  it("says nothing for fewer than two bins, and refuses mismatched lists", () => {
    expect(formatBalance(binBalance([1], [1]))).toEqual([]);
    expect(() => binBalance([1, 2], [1])).toThrow(/2 estimates for 1 measurements/);
  });
});
