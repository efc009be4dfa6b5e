/**
 * What the planner needs to know about a neuron, and the shape of a plan.
 * Kept apart from the cache's types so planning can be tested on synthetic sets.
 */
import { isSymmetricMode, type Normalization } from "../nblast/modes.ts";

/** One neuron as the planner sees it. */
export interface PlanNeuron {
  /** Unique id, 0 to 2^63 - 1. */
  readonly id: bigint;
  /** Dotprops points (after resampling): what a nearest-neighbour search walks. */
  readonly points: number;
  /** Cable length in microns: what `--min-length` / `--max-length` filter on. */
  readonly cable: number;
}

export type { Normalization } from "../nblast/modes.ts";
export { NORMALIZATIONS } from "../nblast/modes.ts";

/** True when a score needs the reverse direction (and both self scores). */
export function isSymmetric(mode: Normalization): boolean {
  return isSymmetricMode(mode);
}

/**
 * rows:  a block's pairs are every (queries[i], targets[j]), i in rows, j in cols.
 * upper: queries and targets are one list; a block's pairs are (ids[i], ids[j]) with i < j
 *        (i <= j when `diagonal`), i in rows, j in cols: each unordered pair once.
 */
export type Layout = "rows" | "upper";

/** Half-open position ranges into the plan's query and target id lists. */
export interface Block {
  readonly rows: readonly [number, number];
  readonly cols: readonly [number, number];
}

export interface Bin {
  /** Estimated cost in the units of docs/plan.md (about one k-d tree node visit). */
  readonly cost: number;
  readonly blocks: readonly Block[];
}

/** "cost": equal estimated cost (the default). "cable": CATMAID's equal-cable query buckets. */
export type Balance = "cost" | "cable";

export interface WorkPlan {
  readonly layout: Layout;
  /** Whether a neuron's pair with itself is part of the work (keepSelf). */
  readonly diagonal: boolean;
  /** Query ids in plan order (ascending id, or space order: `order`). */
  readonly queries: BigInt64Array;
  /** Target ids in plan order, or "queries" when they are the same list (all-by-all). */
  readonly targets: BigInt64Array | "queries";
  readonly bins: readonly Bin[];
  /**
   * "space": the id list is in Hilbert order of the neurons' boxes (spatial.ts), not
   * ascending; absent: ascending ids.
   */
  readonly order?: "space";
  /** Pairs no bin holds, because their boxes are at least `distance` um apart (spatial.ts). */
  readonly skipped?: { readonly distance: number; readonly pairs: number };
}
