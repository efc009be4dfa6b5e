import { describe, expect, it } from "vitest";
import {
  combineScores,
  isNormalization,
  isSymmetricMode,
  NORMALIZATIONS,
  prepareTarget,
  rawScore,
  scoreAllByAll,
  selfScore,
} from "../../src/nblast/score.ts";
import { findBin, SMAT_ALPHA_FCWB, SMAT_FCWB } from "../../src/nblast/smat.ts";
import type { ScoreMatrix } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";
import { powDi, roundR, zapsmallDigits, zapsmallInPlace } from "../../src/nblast/zapsmall.ts";
import { rng } from "../helpers/rng.ts";


/** A neuron-like random walk with random unit tangents and alphas. */
function randomNeuron(n: number, seed: number, spread = 30): Dotprops {
  const r = rng(seed);
  const points = new Float64Array(3 * n);
  const vect = new Float64Array(3 * n);
  const alpha = new Float64Array(n);
  let x = (r() - 0.5) * spread, y = (r() - 0.5) * spread, z = (r() - 0.5) * spread;
  for (let i = 0; i < n; i++) {
    if (i % 40 === 0) {
      x = (r() - 0.5) * spread;
      y = (r() - 0.5) * spread;
      z = (r() - 0.5) * spread;
    }
    x += r() - 0.5;
    y += r() - 0.5;
    z += r() - 0.5;
    points.set([x, y, z], 3 * i);
    const a = r() * 2 - 1, b = r() * 2 - 1, c = r() * 2 - 1;
    const norm = Math.hypot(a, b, c);
    vect.set([a / norm, b / norm, c / norm], 3 * i);
    alpha[i] = r();
  }
  return { points, vect, alpha };
}

/** nat.nblast written out plainly: brute-force nearest neighbour, R's zapsmall, findInterval, sum. */
function referenceScore(q: Dotprops, t: Dotprops, smat: ScoreMatrix, useAlpha: boolean): number {
  const nq = q.alpha.length;
  const nt = t.alpha.length;
  const dist: number[] = [];
  const dps: number[] = [];
  const prod = new Float64Array(nq);
  for (let i = 0; i < nq; i++) {
    let best = Infinity;
    let bj = -1;
    for (let j = 0; j < nt; j++) {
      const dx = q.points[3 * i] - t.points[3 * j];
      const dy = q.points[3 * i + 1] - t.points[3 * j + 1];
      const dz = q.points[3 * i + 2] - t.points[3 * j + 2];
      const d2 = dx * dx + dy * dy + dz * dz;
      if (d2 < best) {
        best = d2;
        bj = j;
      }
    }
    dist.push(Math.sqrt(best));
    dps.push(Math.abs(t.vect[3 * bj] * q.vect[3 * i] + t.vect[3 * bj + 1] * q.vect[3 * i + 1] + t.vect[3 * bj + 2] * q.vect[3 * i + 2]));
    prod[i] = t.alpha[bj] * q.alpha[i];
  }
  if (useAlpha) {
    zapsmallInPlace(prod);
    for (let i = 0; i < nq; i++) dps[i] *= Math.sqrt(prod[i]);
  }
  const ncol = smat.dotBreaks.length - 1;
  let sum = 0;
  for (let i = 0; i < nq; i++) {
    if (Number.isNaN(dps[i])) continue;
    sum += smat.values[findBin(dist[i], smat.distBreaks) * ncol + findBin(dps[i], smat.dotBreaks)];
  }
  return sum;
}

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-300, Math.abs(b));

describe("rawScore", () => {
  const neurons = [randomNeuron(300, 1), randomNeuron(250, 2), randomNeuron(7, 3), randomNeuron(400, 4, 200), randomNeuron(1, 5)];

  it("matches a plain brute-force implementation of nat.nblast, with and without alpha", () => {
    for (const q of neurons) {
      for (const t of neurons) {
        const prepared = prepareTarget(t);
        for (const [smat, useAlpha] of [[SMAT_FCWB, false], [SMAT_ALPHA_FCWB, true], [SMAT_FCWB, true]] as const) {
          const got = rawScore(q, prepared, smat, useAlpha);
          const want = referenceScore(q, t, smat, useAlpha);
          expect(relErr(got, want)).toBeLessThan(1e-12);
        }
      }
    }
  });

  it("gives the same score for float32 input as for the same values in float64", () => {
    const q64 = neurons[0];
    const t64 = neurons[1];
    const f32 = (d: Dotprops): Dotprops => ({ points: Float32Array.from(d.points), vect: Float32Array.from(d.vect), alpha: Float32Array.from(d.alpha) });
    const widen = (d: Dotprops): Dotprops => ({ points: Float64Array.from(d.points), vect: Float64Array.from(d.vect), alpha: Float64Array.from(d.alpha) });
    const q32 = f32(q64);
    const t32 = f32(t64);
    for (const useAlpha of [false, true]) {
      const smat = useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB;
      const want = rawScore(widen(q32), prepareTarget(widen(t32)), smat, useAlpha);
      expect(rawScore(q32, prepareTarget(t32), smat, useAlpha)).toBe(want);
      expect(rawScore(q32, prepareTarget(widen(t32)), smat, useAlpha)).toBe(want);
      // Scratch buffers must not leak between calls of different sizes.
      expect(rawScore(f32(neurons[2]), prepareTarget(t32), smat, useAlpha)).toBe(rawScore(neurons[2], prepareTarget(widen(t32)), smat, useAlpha));
    }
  });

  it("takes a dot product next to a |dot| break the long-double way, as R's rowSums does", () => {
    // Products 0.5, 5 * 2^-56 and -2^-53: in doubles they sum to exactly 0.5, in R's
    // long double to 0.5 - 3 * 2^-56, which rounds to the double just below 0.5.
    const target: Dotprops = { points: new Float64Array([0, 0, 0]), vect: new Float64Array([1, 1, 1]), alpha: new Float64Array([1]) };
    const query: Dotprops = {
      points: new Float64Array([1, 0, 0]),
      vect: new Float64Array([0.5, 5 * 2 ** -56, -(2 ** -53)]),
      alpha: new Float64Array([1]),
    };
    expect(0.5 + 5 * 2 ** -56 - 2 ** -53).toBe(0.5);
    const ncol = SMAT_FCWB.dotBreaks.length - 1;
    const distBin = findBin(1, SMAT_FCWB.distBreaks);
    expect(rawScore(query, prepareTarget(target), SMAT_FCWB, false)).toBe(SMAT_FCWB.values[distBin * ncol + 4]);
    expect(SMAT_FCWB.values[distBin * ncol + 4]).not.toBe(SMAT_FCWB.values[distBin * ncol + 5]);
  });

  it("drops points whose alpha product is NaN when using alpha, as R's tabulate() drops NA", () => {
    const t = neurons[1];
    const q = neurons[0];
    const withNaN: Dotprops = { points: q.points, vect: q.vect, alpha: Float64Array.from(q.alpha) };
    (withNaN.alpha as Float64Array)[10] = NaN;
    const without: Dotprops = {
      points: Float64Array.from([...q.points.subarray(0, 30), ...q.points.subarray(33)]),
      vect: Float64Array.from([...q.vect.subarray(0, 30), ...q.vect.subarray(33)]),
      alpha: Float64Array.from([...q.alpha.subarray(0, 10), ...q.alpha.subarray(11)]),
    };
    const p = prepareTarget(t);
    expect(rawScore(withNaN, p, SMAT_ALPHA_FCWB, true)).toBe(rawScore(without, p, SMAT_ALPHA_FCWB, true));
    expect(Number.isFinite(rawScore(withNaN, p, SMAT_FCWB, false))).toBe(true);
  });

  it("scores an empty query 0 and refuses an empty target or ragged arrays", () => {
    const empty: Dotprops = { points: new Float64Array(0), vect: new Float64Array(0), alpha: new Float64Array(0) };
    expect(rawScore(empty, prepareTarget(neurons[0]), SMAT_FCWB, false)).toBe(0);
    expect(() => rawScore(neurons[0], prepareTarget(empty), SMAT_FCWB, false)).toThrow(/no points/);
    const ragged: Dotprops = { points: new Float64Array(6), vect: new Float64Array(3), alpha: new Float64Array(2) };
    expect(() => prepareTarget(ragged)).toThrow(/tangents/);
  });

  it("reorders the target's tangents and alpha with its tree", () => {
    const t = neurons[0];
    const p = prepareTarget(t);
    for (let s = 0; s < p.n; s++) {
      const i = p.tree.ids[s];
      expect(p.alpha[s]).toBe(t.alpha[i]);
      expect(p.vect[3 * s + 2]).toBe(t.vect[3 * i + 2]);
    }
  });
});

describe("score modes", () => {
  it("lists the modes and which need the reverse score", () => {
    expect(NORMALIZATIONS).toEqual(["raw", "normalized", "mean", "geometric-mean", "min", "max", "harmonic-mean"]);
    expect(NORMALIZATIONS.filter(isSymmetricMode)).toEqual(["mean", "geometric-mean", "min", "max", "harmonic-mean"]);
    expect(isNormalization("mean")).toBe(true);
    expect(isNormalization("average")).toBe(false);
  });

  it("combines forward, reverse and self scores", () => {
    // forward 30 / self 60 = 0.5; reverse 20 / self 100 = 0.2
    const c = (m: (typeof NORMALIZATIONS)[number]): number => combineScores(m, 30, 20, 60, 100);
    expect(c("raw")).toBe(30);
    expect(c("normalized")).toBe(0.5);
    expect(c("mean")).toBe(0.35);
    expect(c("min")).toBe(0.2);
    expect(c("max")).toBe(0.5);
    expect(c("geometric-mean")).toBe(Math.sqrt(0.5 * 0.2));
    expect(c("harmonic-mean")).toBe(2 / (1 / 0.5 + 1 / 0.2));
  });

  it("counts negative normalised scores as 0 in geometric and harmonic means", () => {
    expect(combineScores("geometric-mean", 30, -20, 60, 100)).toBe(0);
    expect(combineScores("harmonic-mean", -30, 20, 60, 100)).toBe(0);
    expect(combineScores("geometric-mean", 0, 20, 60, 100)).toBe(0);
    expect(combineScores("mean", 30, -20, 60, 100)).toBe((0.5 - 0.2) / 2);
    expect(combineScores("min", 30, -20, 60, 100)).toBe(-0.2);
  });

  it("scoreAllByAll has rows = queries and applies the mode", () => {
    const a = randomNeuron(120, 11);
    const b = randomNeuron(90, 12);
    const c = randomNeuron(60, 13);
    const raw = scoreAllByAll([a, b], [a, b, c]);
    expect(raw.length).toBe(6);
    expect(raw[0 * 3 + 2]).toBe(rawScore(a, prepareTarget(c), SMAT_FCWB, false));
    expect(raw[1 * 3 + 0]).toBe(rawScore(b, prepareTarget(a), SMAT_FCWB, false));
    const norm = scoreAllByAll([a, b], [a, b, c], { normalization: "normalized" });
    expect(norm[0]).toBe(1);
    expect(norm[4]).toBe(1);
    expect(norm[2]).toBe(raw[2] / selfScore(a, SMAT_FCWB, false));
    const mean = scoreAllByAll([a, b, c], [a, b, c], { normalization: "mean" });
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(mean[i * 3 + j]).toBe(mean[j * 3 + i]);
    const alpha = scoreAllByAll([a], [b], { useAlpha: true });
    expect(alpha[0]).toBe(rawScore(a, prepareTarget(b), SMAT_ALPHA_FCWB, true));
  });
});

describe("R's round() and zapsmall()", () => {
  it("rounds like R >= 4.0", () => {
    // Values from R 4.x: round(x, d) picks the nearer of the two d-digit neighbours as doubles.
    expect(roundR(0.15, 1)).toBe(0.1);
    expect(roundR(0.25, 1)).toBe(0.2);
    expect(roundR(0.35, 1)).toBe(0.3);
    expect(roundR(2.675, 2)).toBe(2.67);
    expect(roundR(1.005, 2)).toBe(1);
    expect(roundR(0.125, 2)).toBe(0.12);
    expect(roundR(0.375, 2)).toBe(0.38);
    expect(roundR(-0.15, 1)).toBe(-0.1);
    expect(roundR(2.5, 0)).toBe(2);
    expect(roundR(3.5, 0)).toBe(4);
    expect(roundR(-2.5, 0)).toBe(-2);
    expect(roundR(0.123456789, 7)).toBe(0.1234568);
    expect(roundR(123.456, -1)).toBe(120);
    expect(roundR(0, 7)).toBe(0);
    expect(roundR(1e-300, 7)).toBe(0);
    expect(roundR(0.1234567890123456, 20)).toBe(0.1234567890123456);
    expect(powDi(10, 7)).toBe(1e7);
    expect(powDi(10, -2)).toBe(0.01);
  });

  it("zapsmall rounds the whole vector to 7 significant digits of its largest element", () => {
    expect(zapsmallDigits(0.9)).toBe(7);
    expect(zapsmallDigits(1)).toBe(7);
    expect(zapsmallDigits(0.05)).toBe(8);
    expect(zapsmallDigits(0.1)).toBe(8);
    expect(zapsmallDigits(12)).toBe(5);
    expect(zapsmallDigits(0)).toBe(7);
    const x = Float64Array.from([0.5, 1e-9, 0.123456789, -3e-8, NaN]);
    zapsmallInPlace(x);
    expect(Array.from(x.subarray(0, 4))).toEqual([0.5, 0, 0.1234568, -0]);
    expect(x[4]).toBeNaN();
    const small = Float64Array.from([0.012345678, 0.0000123456]);
    zapsmallInPlace(small);
    expect(Array.from(small)).toEqual([0.01234568, 0.00001235]);
  });
});

describe("rawScore: the nearest target point where several tie is the one nabor::knn takes", () => {
  // Target: ten points on the x axis, point i at x = 9 - i (the tree of nabor-tree.test.ts);
  // point 5 (x = 4) points along x, point 4 (x = 5) along y, the others along z. A query
  // point at x = 4.5 is 0.5 from both 4 and 5: nabor takes 5 (met first), a lowest-index
  // rule would take 4, and the |dot| with a query tangent along x is 1 against 0.
  const tp = new Float64Array(30);
  const tv = new Float64Array(30);
  for (let i = 0; i < 10; i++) {
    tp[3 * i] = 9 - i;
    tv.set(i === 5 ? [1, 0, 0] : i === 4 ? [0, 1, 0] : [0, 0, 1], 3 * i);
  }
  const target: Dotprops = { points: tp, vect: tv, alpha: new Float64Array(10).fill(1) };
  const query: Dotprops = { points: new Float64Array([4.5, 0, 0]), vect: new Float64Array([1, 0, 0]), alpha: new Float64Array([1]) };
  const cell = (dist: number, dot: number): number => {
    const r = findBin(dist, SMAT_FCWB.distBreaks);
    const c = findBin(dot, SMAT_FCWB.dotBreaks);
    return SMAT_FCWB.values[r * (SMAT_FCWB.dotBreaks.length - 1) + c];
  };

  it("scores the tied query point with nabor's choice, with and without alpha, through the fast tree's tie flag", () => {
    const prepared = prepareTarget(target);
    expect(cell(0.5, 1)).not.toBe(cell(0.5, 0));
    expect(rawScore(query, prepared, SMAT_FCWB, false)).toBe(cell(0.5, 1));
    expect(prepared.ties.resolved).toBe(1);
    // Whatever leaf the fast tree starts from (its last answer), the answer is nabor's.
    for (const x of [0, 9, 3, 6, 4.5]) rawScore({ ...query, points: new Float64Array([x, 0, 0]) }, prepared, SMAT_FCWB, false);
    expect(rawScore(query, prepared, SMAT_FCWB, false)).toBe(cell(0.5, 1));
    expect(rawScore(query, prepared, SMAT_ALPHA_FCWB, true)).toBe(
      SMAT_ALPHA_FCWB.values[findBin(0.5, SMAT_ALPHA_FCWB.distBreaks) * (SMAT_ALPHA_FCWB.dotBreaks.length - 1) + findBin(1, SMAT_ALPHA_FCWB.dotBreaks)],
    );
  });

  it("leaves untied queries to the fast tree", () => {
    const prepared = prepareTarget(target);
    rawScore({ ...query, points: new Float64Array([4.2, 0.1, 0]) }, prepared, SMAT_FCWB, false);
    expect(prepared.ties.resolved).toBe(0);
  });
});
