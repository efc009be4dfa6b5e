/**
 * This machine's kernel speed on a run's own neurons: a short timed pass over a sample of
 * its candidate pairs doing what a worker's thread does with each (the exact bounds of
 * prune.ts, then the search of the pairs they do not rule out, both directions where the
 * mode needs them), plus the k-d tree builds and self scores of the sampled neurons.
 * One thread; the figures are per candidate pair and per point, for estimate.ts to scale.
 */
import { boundingBox, ScoreBounds, validForAlpha } from "../nblast/bounds.ts";
import { isSymmetricMode, type Normalization } from "../nblast/modes.ts";
import { provablyBelow, type PruneSide, type PruneSpec } from "../nblast/prune.ts";
import { prepareTarget, rawScore, selfScore, type PreparedTarget } from "../nblast/score.ts";
import type { ScoreMatrix } from "../nblast/smat.ts";
import type { Dotprops } from "../nblast/types.ts";

export interface CalibrationInput {
  /** The sampled neurons' dotprops. */
  readonly dotprops: readonly Dotprops[];
  /** Candidate pairs as [query, target] positions in `dotprops`, flat. */
  readonly pairs: Int32Array;
  readonly smat: ScoreMatrix;
  readonly normalization: Normalization;
  readonly useAlpha: boolean;
  /**
   * Pairs far apart (not candidates), flat like `pairs`: today's bins still test each of
   * them with the box-gap bound, and this times that test. Empty: not timed.
   */
  readonly farPairs?: Int32Array;
  /** The run's --min-score (undefined: nothing can be pruned, every pair is searched). */
  readonly minScore: number | undefined;
  /** Keep timing passes over the pairs until this much time is spent (default 2 s). */
  readonly seconds?: number;
}

export interface Calibration {
  /** Candidate pairs timed (counting repeated passes once). */
  readonly pairs: number;
  /** Of those, pairs the bounds proved hopeless. */
  readonly pruned: number;
  /** Nearest-neighbour queries the timed pairs needed (per pass). */
  readonly searchedQueries: number;
  /** Mean seconds per candidate pair, bounds and search included. */
  readonly secondsPerPair: number;
  /** Mean seconds per nearest-neighbour query of the pairs that were searched. */
  readonly secondsPerQuery: number;
  /** Seconds per point of building a target tree. */
  readonly secondsPerTreePoint: number;
  /** Seconds per point of a self score. */
  readonly secondsPerSelfPoint: number;
  /** Seconds per far pair ruled out by its box gap (0 when none were timed). */
  readonly secondsPerFarPair: number;
  readonly passes: number;
}

export function calibrate(c: CalibrationInput): Calibration {
  const n = c.dotprops.length;
  const budget = (c.seconds ?? 2) * 1000;
  const np = c.pairs.length / 2;
  if (n === 0 || np === 0) throw new RangeError("calibration needs at least one candidate pair");
  let points = 0;
  for (const d of c.dotprops) points += d.points.length / 3;

  // Tree builds and self scores are timed on a second pass: the first one compiles.
  let prepared: PreparedTarget[] = c.dotprops.map((d) => prepareTarget(d));
  let t0 = performance.now();
  prepared = c.dotprops.map((d) => prepareTarget(d));
  const secondsPerTreePoint = (performance.now() - t0) / 1000 / points;

  const normalized = c.normalization !== "raw";
  const selfs = new Float64Array(n);
  let secondsPerSelfPoint = 0;
  if (normalized) {
    for (let pass = 0; pass < 2; pass++) {
      t0 = performance.now();
      for (let i = 0; i < n; i++) selfs[i] = selfScore(c.dotprops[i], c.smat, c.useAlpha, prepared[i]);
      secondsPerSelfPoint = (performance.now() - t0) / 1000 / points;
    }
  }

  const sides: PruneSide[] = c.dotprops.map((d, i) => ({
    points: d.points,
    box: boundingBox(d.points),
    tree: prepared[i].tree,
    self: normalized ? selfs[i] : 1,
    validAlpha: validForAlpha(d),
  }));
  const spec: PruneSpec | undefined =
    c.minScore === undefined ? undefined : { bounds: new ScoreBounds(c.smat), mode: c.normalization, useAlpha: c.useAlpha, minScore: c.minScore, both: false };
  const reverse = isSymmetricMode(c.normalization);

  let pruned = 0;
  let searchedQueries = 0;
  let passes = 0;
  let sink = 0;
  const start = performance.now();
  let elapsed = 0;
  // One untimed pass warms the JIT and the caches, as a long-running worker is.
  for (let pass = -1; pass === -1 || elapsed < budget; pass++) {
    const p0 = performance.now();
    let prunedNow = 0;
    let queriesNow = 0;
    for (let k = 0; k < np; k++) {
      const q = c.pairs[2 * k], t = c.pairs[2 * k + 1];
      if (spec !== undefined && provablyBelow(spec, sides[q], sides[t])) {
        prunedNow++;
        continue;
      }
      sink += rawScore(prepared[q], prepared[t], c.smat, c.useAlpha);
      queriesNow += sides[q].points.length / 3;
      if (reverse) {
        sink += rawScore(prepared[t], prepared[q], c.smat, c.useAlpha);
        queriesNow += sides[t].points.length / 3;
      }
    }
    if (pass >= 0) {
      elapsed += performance.now() - p0;
      passes++;
      pruned = prunedNow;
      searchedQueries = queriesNow;
    }
    if (performance.now() - start > 4 * budget + 60_000) break; // a huge first pass
  }
  let secondsPerFarPair = 0;
  const far = c.farPairs ?? new Int32Array(0);
  if (spec !== undefined && far.length > 0) {
    let tested = 0;
    const f0 = performance.now();
    for (let pass = 0; pass < 1000 && (pass < 2 || performance.now() - f0 < budget / 4); pass++) {
      const p0 = performance.now();
      for (let k = 0; k < far.length; k += 2) if (provablyBelow(spec, sides[far[k]], sides[far[k + 1]])) sink++;
      if (pass > 0) {
        secondsPerFarPair += (performance.now() - p0) / 1000;
        tested += far.length / 2;
      }
    }
    secondsPerFarPair /= tested;
  }
  if (Number.isNaN(sink)) sink = 0; // keeps the scores alive for the optimiser
  const perPass = elapsed / 1000 / passes;
  return {
    pairs: np,
    pruned,
    searchedQueries,
    secondsPerPair: perPass / np,
    secondsPerQuery: searchedQueries === 0 ? 0 : perPass / searchedQueries,
    secondsPerTreePoint,
    secondsPerSelfPoint,
    secondsPerFarPair,
    passes: passes + sink * 0,
  };
}
