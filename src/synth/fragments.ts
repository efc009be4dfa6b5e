/**
 * Synthetic neuron sets shaped like automatically segmented FAFB fragments: cable
 * lengths are heavy tailed (most 10-100 um, a tail of several mm) and never below 10 um
 * (CATMAID's usual --min-length 10000 nm). CATMAID's FAFBv14 figures for fragments of
 * 10 um and more: 2,336,920 skeletons, 91.68 m of cable, a mean of 39 um.
 */
import type { PlanNeuron } from "../plan/types.ts";
import { Rng } from "./rng.ts";

export interface SynthNeuron extends PlanNeuron {
  readonly name: string;
}

export interface FragmentShape {
  /** Shortest cable, microns. */
  readonly minCable: number;
  /** Longest cable, microns (draws above are redrawn). */
  readonly maxCable: number;
  /** Median of the bulk's lognormal, microns. */
  readonly bulkMedian: number;
  readonly bulkSigma: number;
  /** Share of fragments drawn from the long tail. */
  readonly tailShare: number;
  readonly tailMedian: number;
  readonly tailSigma: number;
}

export const FAFB_FRAGMENTS: FragmentShape = Object.freeze({
  minCable: 10,
  maxCable: 20000,
  bulkMedian: 18,
  bulkSigma: 0.85,
  tailShare: 0.015,
  tailMedian: 250,
  tailSigma: 1.1,
});

/** Draws one cable length (microns). */
export function drawCable(rng: Rng, shape: FragmentShape = FAFB_FRAGMENTS): number {
  for (;;) {
    const tail = rng.next() < shape.tailShare;
    const median = tail ? shape.tailMedian : shape.bulkMedian;
    const sigma = tail ? shape.tailSigma : shape.bulkSigma;
    const c = median * Math.exp(sigma * rng.normal());
    if (c >= shape.minCable && c <= shape.maxCable) return c;
  }
}

/**
 * Dotprops points for a cable resampled every `step` microns: one per step, plus one
 * per segment end (a branch point every ~40 um of cable).
 */
export function pointsForCable(rng: Rng, cable: number, step = 1): number {
  const branchPoints = Math.round((cable / 40) * (0.5 + rng.next()));
  return Math.max(2, Math.round(cable / step) + 1 + branchPoints);
}

/**
 * n fragments, deterministic from `seed`: distinct random ids, names "frag-<id>",
 * cable in microns rounded to 0.001, points as for 1 um resampling.
 */
export function generateFragmentSet(n: number, seed: number, shape: FragmentShape = FAFB_FRAGMENTS): SynthNeuron[] {
  if (!(Number.isSafeInteger(n) && n >= 0)) throw new RangeError(`generateFragmentSet: n must be a non-negative integer, got ${n}`);
  const rng = new Rng(seed);
  const ids = new Set<number>();
  const out: SynthNeuron[] = [];
  while (out.length < n) {
    const id = 1 + rng.int(0x7ffffffe);
    if (ids.has(id)) continue;
    ids.add(id);
    const cable = Math.round(drawCable(rng, shape) * 1000) / 1000;
    out.push({ id: BigInt(id), name: `frag-${id}`, cable, points: pointsForCable(rng, cable) });
  }
  return out;
}
