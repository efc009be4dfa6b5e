/**
 * Which neurons a run compares: a query set and a target set (both all neurons by
 * default, i.e. all-by-all), optionally restricted to id lists and to a cable range.
 */
import { MAX_ID } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { PlanNeuron } from "./types.ts";

export interface SelectOptions {
  /** Keep neurons with cable >= minLength (microns). */
  readonly minLength?: number;
  /** Keep neurons with cable <= maxLength (microns). */
  readonly maxLength?: number;
  /** Restrict the queries to these ids (default: every neuron). */
  readonly queryIds?: readonly bigint[];
  /** Restrict the targets to these ids (default: every neuron). */
  readonly targetIds?: readonly bigint[];
}

export interface Selection {
  /** Sorted by id. */
  readonly queries: readonly PlanNeuron[];
  /** Sorted by id; the very same array as `queries` when `sameSet`. */
  readonly targets: readonly PlanNeuron[];
  /** Queries and targets are the same neurons: an all-by-all run. */
  readonly sameSet: boolean;
  /** Neurons the length filters removed from the query and the target candidates. */
  readonly droppedQueries: number;
  readonly droppedTargets: number;
}

/** Throws InputError on a neuron the planner cannot cost (bad id, points or cable). */
export function checkNeurons(all: readonly PlanNeuron[], source = "neuron list"): void {
  // A cache's neurons come ascending: then no id can repeat, and no set of ids is needed.
  let ascending = true;
  for (let i = 1; i < all.length && ascending; i++) ascending = all[i].id > all[i - 1].id;
  const seen = ascending ? undefined : new Set<bigint>();
  for (const x of all) {
    if (typeof x.id !== "bigint" || x.id < 0n || x.id > MAX_ID) {
      throw new InputError(`neuron id ${String(x.id)} is not an integer from 0 to 2^63 - 1`, { source });
    }
    if (seen !== undefined) {
      if (seen.has(x.id)) throw new InputError(`neuron id ${x.id} appears twice`, { source });
      seen.add(x.id);
    }
    if (!(Number.isSafeInteger(x.points) && x.points >= 1)) {
      throw new InputError(`neuron ${x.id}: point count must be a positive integer, got ${String(x.points)}`, { source });
    }
    if (!(Number.isFinite(x.cable) && x.cable >= 0)) {
      throw new InputError(`neuron ${x.id}: cable length must be a finite number >= 0, got ${String(x.cable)}`, { source });
    }
  }
}

export function selectNeurons(all: readonly PlanNeuron[], options: SelectOptions = {}): Selection {
  checkNeurons(all);
  const { minLength, maxLength } = options;
  checkLength(minLength, "--min-length");
  checkLength(maxLength, "--max-length");
  if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) {
    throw new InputError(`--min-length ${minLength} is greater than --max-length ${maxLength}`);
  }
  let byId: Map<bigint, PlanNeuron> | undefined; // only when ids are listed
  const lookup = (id: bigint): PlanNeuron | undefined => {
    if (byId === undefined) {
      byId = new Map();
      for (const x of all) byId.set(x.id, x);
    }
    return byId.get(id);
  };
  const keep = (x: PlanNeuron): boolean =>
    (minLength === undefined || x.cable >= minLength) && (maxLength === undefined || x.cable <= maxLength);

  const pick = (ids: readonly bigint[] | undefined, role: string): { set: PlanNeuron[]; dropped: number } => {
    let candidates: PlanNeuron[];
    if (ids === undefined) {
      candidates = [...all];
    } else {
      const unique = new Set<bigint>();
      candidates = [];
      for (const id of ids) {
        const x = lookup(id);
        if (x === undefined) throw new InputError(`${role} id ${id} is not in the cache`);
        if (!unique.has(id)) candidates.push(x);
        unique.add(id);
      }
    }
    if (candidates.length === 0) {
      throw new InputError(ids === undefined ? "no neurons to compare: the cache is empty" : `the ${role} id list is empty`);
    }
    const set = candidates.filter(keep).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (set.length === 0) {
      const from = ids === undefined ? `${all.length} neuron(s) in the cache` : `${candidates.length} listed ${role} id(s)`;
      throw new InputError(`no ${role} neurons left: none of ${from} has cable ${rangeText(minLength, maxLength)}`);
    }
    return { set, dropped: candidates.length - set.length };
  };

  const q = pick(options.queryIds, "query");
  const t = pick(options.targetIds, "target");
  const sameSet = q.set.length === t.set.length && q.set.every((x, i) => x.id === t.set[i].id);
  return {
    queries: q.set,
    targets: sameSet ? q.set : t.set,
    sameSet,
    droppedQueries: q.dropped,
    droppedTargets: t.dropped,
  };
}

function checkLength(x: number | undefined, option: string): void {
  if (x !== undefined && !(typeof x === "number" && Number.isFinite(x) && x >= 0)) {
    throw new InputError(`${option} must be a number of microns >= 0, got ${String(x)}`);
  }
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max} um`;
  if (min !== undefined) return `>= ${min} um (--min-length)`;
  if (max !== undefined) return `<= ${max} um (--max-length)`;
  return "in range";
}
