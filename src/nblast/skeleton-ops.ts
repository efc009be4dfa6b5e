/** Small whole-skeleton operations. */
import type { Skeleton } from "./types.ts";

/** Coordinates multiplied by factor (ids and parents shared with the input). */
export function scaleSkeleton(sk: Skeleton, factor: number): Skeleton {
  if (!(Number.isFinite(factor) && factor !== 0)) throw new RangeError(`scale factor must be a finite non-zero number, got ${factor}`);
  const xyz = new Float64Array(sk.xyz.length);
  for (let i = 0; i < xyz.length; i++) xyz[i] = sk.xyz[i] * factor;
  return { ids: sk.ids, parent: sk.parent, xyz };
}

/** Total length of all parent-child edges, in the skeleton's units. */
export function cableLength(sk: Skeleton): number {
  const { parent, xyz } = sk;
  let total = 0;
  for (let i = 0; i < parent.length; i++) {
    const p = parent[i];
    if (p < 0) continue;
    const dx = xyz[3 * i] - xyz[3 * p], dy = xyz[3 * i + 1] - xyz[3 * p + 1], dz = xyz[3 * i + 2] - xyz[3 * p + 2];
    total += Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
  return total;
}
