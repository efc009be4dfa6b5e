/**
 * The points dotprops are computed from, for a skeleton: scale, then simplify, then
 * resample, as R does with dotprops(simplify_neuron(x * scale, n), resample = s).
 */
import { resamplePoints } from "./resample.ts";
import { simplifySkeleton } from "./simplify.ts";
import { scaleSkeleton } from "./skeleton-ops.ts";
import type { DotpropsParams, Skeleton } from "./types.ts";

export type PointParams = Pick<DotpropsParams, "scale" | "simplify" | "resample">;

/** The skeleton after scaling and simplification (the input itself when neither applies). */
export function prepareSkeleton(sk: Skeleton, params: PointParams): Skeleton {
  let s = params.scale === 1 ? sk : scaleSkeleton(sk, params.scale);
  if (params.simplify !== undefined) s = simplifySkeleton(s, params.simplify);
  return s;
}

/** xyz of the points (a new array): resampled when params.resample is a positive step, else the nodes. */
export function skeletonPoints(sk: Skeleton, params: PointParams): Float64Array {
  return pointsOf(prepareSkeleton(sk, params), params.resample);
}

/** Points of an already prepared skeleton. */
export function pointsOf(prepared: Skeleton, resample: number | undefined): Float64Array {
  if (resample === undefined || resample === 0) return prepared.xyz.slice();
  return resamplePoints(prepared, resample);
}
