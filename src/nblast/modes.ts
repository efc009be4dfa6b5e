/**
 * How raw NBLAST scores become the reported score. "normalized" divides by the
 * query's self score (nat.nblast's normalised = TRUE); the symmetric modes
 * combine the normalised forward score with the normalised reverse score
 * (target as query, divided by the target's self score); "mean" is
 * nat.nblast's sub_score_mat(normalisation = "mean").
 *
 * Geometric and harmonic means are only defined for positive scores: negative
 * normalised scores count as 0 there (as in the reference expected_modes.csv),
 * so either score <= 0 gives 0.
 */

export type Normalization = "raw" | "normalized" | "mean" | "geometric-mean" | "min" | "max" | "harmonic-mean";

export const NORMALIZATIONS: readonly Normalization[] = Object.freeze([
  "raw",
  "normalized",
  "mean",
  "geometric-mean",
  "min",
  "max",
  "harmonic-mean",
]);

export function isNormalization(s: string): s is Normalization {
  return (NORMALIZATIONS as readonly string[]).includes(s);
}

/** True for modes that need the reverse score (and give score(a, b) = score(b, a)). */
export function isSymmetricMode(n: Normalization): boolean {
  return n !== "raw" && n !== "normalized";
}

/** True for modes that need self scores. */
export function needsSelfScores(n: Normalization): boolean {
  return n !== "raw";
}

/**
 * The score of one ordered pair in mode `n` from the forward raw score
 * (query against target), the reverse raw score (target against query) and
 * the two self scores. Arguments a mode does not need are ignored.
 */
export function combineScores(n: Normalization, forwardRaw: number, reverseRaw: number, querySelf: number, targetSelf: number): number {
  switch (n) {
    case "raw":
      return forwardRaw;
    case "normalized":
      return forwardRaw / querySelf;
  }
  const f = forwardRaw / querySelf;
  const r = reverseRaw / targetSelf;
  switch (n) {
    case "mean":
      return (f + r) / 2;
    case "min":
      return Math.min(f, r);
    case "max":
      return Math.max(f, r);
    case "geometric-mean":
      return f > 0 && r > 0 ? Math.sqrt(f * r) : 0;
    case "harmonic-mean":
      return f > 0 && r > 0 ? 2 / (1 / f + 1 / r) : 0;
  }
}
