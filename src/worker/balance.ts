/**
 * How well the plan's cost model balanced the bins: the spread of the bins' estimated cost
 * (the manifest) beside the spread of what they measured (their done markers), over the
 * done bins. A plan is balanced when its slowest bin is not much slower than the mean: that
 * bin sets the wall time of a fan-out with one worker per bin.
 */

/** min, median, max and max / mean of a set of non-negative figures. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly maxOverMean: number;
}

export interface BinBalance {
  /** Done bins counted. */
  readonly bins: number;
  /** The plan's estimated cost of those bins (cost units, docs/plan.md). */
  readonly estimated: Spread;
  /** Their measured compute: threads x (self scores + scoring) seconds, in vCPU-seconds. */
  readonly measured: Spread;
  /** Measured vCPU-seconds per million cost units, bin by bin: how far the model's price varies. */
  readonly secondsPerMegaUnit: Spread;
}

export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { min: 0, median: 0, max: 0, maxOverMean: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return {
    min: s[0],
    median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2,
    max: s[s.length - 1],
    maxOverMean: mean > 0 ? s[s.length - 1] / mean : 0,
  };
}

/** Balance over bins given as (estimated cost, measured vCPU-seconds), one pair per done bin. */
export function binBalance(estimated: readonly number[], measured: readonly number[]): BinBalance {
  if (estimated.length !== measured.length) throw new RangeError(`binBalance: ${estimated.length} estimates for ${measured.length} measurements`);
  const perUnit: number[] = [];
  for (let i = 0; i < estimated.length; i++) if (estimated[i] > 0) perUnit.push((measured[i] / estimated[i]) * 1e6);
  return { bins: estimated.length, estimated: spread(estimated), measured: spread(measured), secondsPerMegaUnit: spread(perUnit) };
}

const g = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(2));

/** Two lines for `status`: the estimated and the measured spread. */
export function formatBalance(b: BinBalance): string[] {
  if (b.bins < 2) return [];
  const e = b.estimated;
  const m = b.measured;
  const u = b.secondsPerMegaUnit;
  return [
    `  balance over ${b.bins} done bins: estimated cost min ${e.min.toExponential(3)} median ${e.median.toExponential(3)} max ${e.max.toExponential(3)}, max/mean ${e.maxOverMean.toFixed(3)}`,
    `    measured compute (threads x seconds of self scores and scoring) min ${g(m.min)} median ${g(m.median)} max ${g(m.max)} vCPU-s, max/mean ${m.maxOverMean.toFixed(3)}; ` +
      `${g(u.min)}-${g(u.max)} vCPU-s per million cost units` +
      // A first bin's JIT warm-up alone takes a good part of a second: short bins measure it, not the plan.
      (m.median < SHORT_BIN_SECONDS ? ` (bins under ${SHORT_BIN_SECONDS} vCPU-s: warm-up dominates what they measure)` : ""),
  ];
}

/** Below this median measured compute, a bin's seconds say more about warm-up than about balance. */
export const SHORT_BIN_SECONDS = 1;
