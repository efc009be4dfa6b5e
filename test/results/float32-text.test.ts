import { describe, expect, it } from "vitest";
import { formatFloat32 } from "../../src/results/float32-text.ts";
import { rng } from "../helpers/rng.ts";

/** Reference: first digit count, scanning up from 1, whose correctly rounded decimal reads back. */
function shortestByScan(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  throw new Error(`no decimal reads back to ${v}`);
}

describe("formatFloat32", () => {
  it("prints familiar values briefly", () => {
    expect(formatFloat32(Math.fround(0.1))).toBe("0.1");
    expect(formatFloat32(Math.fround(1 / 3))).toBe("0.33333334");
    expect(formatFloat32(Math.fround(-2.5))).toBe("-2.5");
    expect(formatFloat32(1)).toBe("1");
    expect(formatFloat32(Math.fround(123456789))).toBe("123456790");
    expect(formatFloat32(Math.fround(1e-8))).toBe("1e-8");
    expect(formatFloat32(2 ** -149)).toBe("1e-45");
    expect(formatFloat32(Math.fround(3.4e38))).toBe("3.4e+38");
  });

  it("keeps the sign of zero", () => {
    expect(formatFloat32(-0)).toBe("-0");
    expect(Object.is(Math.fround(Number(formatFloat32(-0))), -0)).toBe(true);
    expect(formatFloat32(0)).toBe("0");
  });

  it("reads back exactly and is as short as a full scan, for random bit patterns and all powers of two", () => {
    const r = rng(42);
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    const values: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      u[0] = Math.floor(r() * 2 ** 32);
      if (Number.isFinite(f[0]) && f[0] !== 0) values.push(f[0]);
    }
    for (let e = -149; e < 128; e++) values.push(Math.fround(2 ** e), -Math.fround(2 ** e));
    for (let i = 0; i < 50_000; i++) values.push(Math.fround(r() * 2 - 1));
    let wrong = 0;
    let longer = 0;
    for (const v of values) {
      const s = formatFloat32(v);
      if (Math.fround(Number(s)) !== v) wrong++;
      if (s !== shortestByScan(v)) longer++;
    }
    expect(wrong).toBe(0);
    expect(longer).toBe(0);
  });
});
