/**
 * Proving that a pair's stored score cannot pass a run's --min-score, before searching it.
 *
 * Every mode's score is a nondecreasing function of the forward and reverse raw scores
 * when both self scores are positive: raw, raw / self, their mean, min, max, and the
 * geometric and harmonic means (which are 0 unless both are positive, then increasing in
 * each). Floating-point rounding is monotone too, so combineScores applied to upper bounds
 * of the raw scores (ScoreBounds, bounds.ts: never below the kernel's computed raw score)
 * is at least the computed score, and Math.fround keeps that order. A pair is pruned only
 * when the bound of every row it could store is, as float32, <= minScore: the same test
 * the storage rule makes (policy.ts), so stored rows are identical with and without
 * pruning. A self score that is not positive (or NaN) never lets a pair be pruned.
 */
import { alwaysCounted, type Box, type ScoreBounds } from "./bounds.ts";
import type { KdTree } from "./kdtree.ts";
import { combineScores, isSymmetricMode, type Normalization } from "./modes.ts";
import type { Vec3Array } from "./types.ts";

/** One side of a pair as the bounds see it. */
export interface PruneSide {
  readonly points: Vec3Array;
  readonly box: Box;
  /** Its tree, when the bin built one (the point bound needs the target's). */
  readonly tree: KdTree | undefined;
  readonly self: number;
  readonly validAlpha: boolean;
}

/** Depths of the target tree's boxes tried after the gap bound, cheapest first. */
export const PRUNE_DEPTHS: readonly number[] = Object.freeze([2, 5]);

export interface PruneSpec {
  readonly bounds: ScoreBounds;
  readonly mode: Normalization;
  readonly useAlpha: boolean;
  readonly minScore: number;
  /** The bin stores (t, q) too (upper layout). */
  readonly both: boolean;
}

/** True when the kept-row test `fround(score) > minScore` fails for every row of the pair (q, t). */
export function provablyBelow(spec: PruneSpec, q: PruneSide, t: PruneSide): boolean {
  const { bounds, mode, minScore } = spec;
  const needSelf = mode !== "raw";
  if (needSelf && !(q.self > 0)) return false;
  const symmetric = isSymmetricMode(mode);
  const needRev = symmetric || spec.both;
  if (needRev && needSelf && !(t.self > 0)) return false;
  const counted = alwaysCounted(spec.useAlpha, q.validAlpha, t.validAlpha);
  const nq = q.points.length / 3, nt = t.points.length / 3;
  // Raw mode never needs a reverse score unless the bin stores both directions.
  let bf = bounds.gapBound(nq, q.box, t.box, counted);
  let br = needRev ? bounds.gapBound(nt, t.box, q.box, counted) : NaN;
  const below = (): boolean => {
    const fwdRow = combineScores(mode, bf, br, q.self, t.self);
    if (!(Math.fround(fwdRow) <= minScore)) return false;
    if (!spec.both) return true;
    const backRow = combineScores(mode, br, bf, t.self, q.self);
    return Math.fround(backRow) <= minScore;
  };
  if (below()) return true;
  for (const depth of PRUNE_DEPTHS) {
    if (t.tree !== undefined) bf = Math.min(bf, bounds.pointBound(q.points, t.tree, depth, counted));
    if (needRev && q.tree !== undefined) br = Math.min(br, bounds.pointBound(t.points, q.tree, depth, counted));
    if (below()) return true;
  }
  return false;
}
