/**
 * Checks on one neuron before and after its points are made, so that bad or surprising
 * input gets an answer naming the file instead of a minute of work, gigabytes of memory
 * and `Array buffer allocation failed`:
 *
 * - coordinates must stay well inside the doubles (|x| <= 1e150, so that squared
 *   distances and their sums never overflow);
 * - the points a skeleton will have are estimated before anything is allocated, from its
 *   cable length and the resample step (each segment gets at most length / step new points
 *   besides its nodes), and a neuron beyond `maxPoints` is refused;
 * - fewer than k points is an error, as in R's dotprops;
 * - one-node neurons, all points identical and extents that look like nanometres are
 *   warnings (returned, not thrown): the neuron is still used.
 */
import { InputError } from "./errors.ts";
import type { Skeleton } from "./types.ts";

/** Default limit on a neuron's points (a few times the largest real neurons at 1 um). */
export const DEFAULT_MAX_POINTS = 2_000_000;

/** Largest coordinate magnitude accepted: its square, times 3, is still a finite double. */
export const MAX_COORDINATE = 1e150;

/**
 * An extent (largest side of the bounding box) above this, in the scaled unit, looks like
 * nanometres at a 1 um step (no neuron is 2 cm long); with a coarser step the bound grows
 * with it, so a user resampling nanometres at 1000 on purpose is not warned.
 */
export const NANOMETRE_EXTENT = 20_000;

/** Refuses a non-finite or huge coordinate, naming the point (1-based) and the axis. */
export function checkCoordinates(xyz: ArrayLike<number>, source: string, scale: number): void {
  for (let i = 0; i < xyz.length; i++) {
    const v = xyz[i];
    if (!(Math.abs(v) <= MAX_COORDINATE)) {
      const after = scale === 1 ? "" : ` after --scale ${scale}`;
      throw new InputError(
        `point ${Math.floor(i / 3) + 1} has ${"XYZ"[i % 3]} = ${v}${after}, beyond the ${MAX_COORDINATE.toExponential()} this tool accepts; check the file's units and --scale`,
        { source },
      );
    }
  }
}

/**
 * An upper bound on the points resampling `sk` at `step` gives: its nodes plus cable / step
 * (plain double sums; Infinity when the lengths overflow). Without a step, the node count.
 */
export function estimatePoints(sk: Skeleton, step: number | undefined): { points: number; cable: number } {
  const n = sk.parent.length;
  if (step === undefined || step === 0) return { points: n, cable: NaN };
  const { parent, xyz } = sk;
  let cable = 0;
  for (let v = 0; v < n; v++) {
    const p = parent[v];
    if (p < 0) continue;
    const dx = xyz[3 * v] - xyz[3 * p], dy = xyz[3 * v + 1] - xyz[3 * p + 1], dz = xyz[3 * v + 2] - xyz[3 * p + 2];
    cable += Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
  return { points: n + cable / step, cable };
}

/** Refuses a neuron whose estimated points pass `maxPoints`, with the estimate and what to do. */
export function checkPointBudget(
  estimate: { points: number; cable: number },
  maxPoints: number,
  source: string,
  step: number | undefined,
): void {
  if (estimate.points <= maxPoints) return;
  const about = Number.isFinite(estimate.points) ? `about ${Math.ceil(estimate.points).toLocaleString("en-US")}` : "an unbounded number of";
  const how = step === undefined || step === 0
    ? `(${estimate.points} nodes, no resampling)`
    : `at --resample ${step} (cable ${Number.isFinite(estimate.cable) ? estimate.cable.toPrecision(4) : "overflowing"})`;
  throw new InputError(
    `would have ${about} points ${how}, more than --max-points ${maxPoints}; ` +
      `check the step and the units (nanometre coordinates need --scale 0.001), or raise --max-points`,
    { source },
  );
}

/** R's dotprops stops when a neuron has fewer points than k; so do we, naming both counts. */
export function checkEnoughPoints(points: number, k: number, source: string): void {
  if (points < k) {
    throw new InputError(
      `has ${points} point${points === 1 ? "" : "s"}, fewer than k = ${k} neighbours for its tangents (R's dotprops stops here too); ` +
        `lower --k or leave the neuron out`,
      { source },
    );
  }
}

/**
 * Warnings about points that will score, but probably not as meant. `nodes` is the
 * skeleton's node count (undefined for a CSV); `scale` the factor already applied; `step`
 * the resample step (undefined: none).
 */
export function pointWarnings(points: ArrayLike<number>, nodes: number | undefined, scale: number, step?: number): string[] {
  const out: string[] = [];
  if (nodes === 1) out.push("has a single node: its one point has no tangent to compare");
  const n = points.length / 3;
  if (n === 0) return out;
  let identical = n > 1;
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      const v = points[3 * i + a];
      if (v < lo[a]) lo[a] = v;
      if (v > hi[a]) hi[a] = v;
      if (identical && v !== points[a]) identical = false;
    }
  }
  if (identical) out.push(`all ${n} points are identical: tangents are undefined and every score is the same`);
  const extent = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  if (extent > NANOMETRE_EXTENT * Math.max(1, step ?? 1)) {
    const fix = scale === 1 ? "if they are nanometres (CATMAID, FlyWire), add --scale 0.001" : `check --scale (${scale} was applied)`;
    out.push(`spans ${Math.round(extent).toLocaleString("en-US")} units, which looks like nanometres rather than microns: ${fix}`);
  }
  return out;
}
