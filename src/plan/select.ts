/**
 * Which neurons a run compares: a query set and a target set (both all neurons by
 * default, i.e. all-by-all), optionally restricted to id lists and to a cable range.
 */
import { MAX_ID, compareIdAt, copyIdAt, formatIdAt, idKey, idWords, searchIds } from "../ids/index.ts";
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

/** Throws InputError on a neuron the planner cannot cost (bad id, points or cable, or an id twice). */
export function checkNeurons(all: readonly PlanNeuron[], source = "neuron list"): void {
  sortedById(all, source);
}

/**
 * The neurons sorted by id: `all` itself when it is ascending already (a cache's index
 * always is), else a sorted copy. Checks every neuron on the way. Ids are compared through
 * the words of one id column (src/ids/words.ts), so neither the check nor the sort makes a
 * BigInt or a set of them.
 */
function sortedById(all: readonly PlanNeuron[], source: string): { neurons: readonly PlanNeuron[]; ids: BigInt64Array } {
  const n = all.length;
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const x = all[i];
    if (typeof x.id !== "bigint" || x.id < 0n || x.id > MAX_ID) {
      throw new InputError(`neuron id ${String(x.id)} is not an integer from 0 to 2^63 - 1`, { source });
    }
    if (!(Number.isSafeInteger(x.points) && x.points >= 1)) {
      throw new InputError(`neuron ${x.id}: point count must be a positive integer, got ${String(x.points)}`, { source });
    }
    if (!(Number.isFinite(x.cable) && x.cable >= 0)) {
      throw new InputError(`neuron ${x.id}: cable length must be a finite number >= 0, got ${String(x.cable)}`, { source });
    }
    ids[i] = x.id;
  }
  const w = idWords(ids);
  let ascending = true;
  for (let i = 1; i < n && ascending; i++) ascending = compareIdAt(w, i, w, i - 1) > 0;
  if (ascending) return { neurons: all, ids };
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => compareIdAt(w, a, w, b));
  const sortedIds = new BigInt64Array(n);
  const sw = idWords(sortedIds);
  const neurons = new Array<PlanNeuron>(n);
  for (let k = 0; k < n; k++) {
    if (k > 0 && compareIdAt(w, order[k], w, order[k - 1]) === 0) {
      throw new InputError(`neuron id ${formatIdAt(w, order[k])} appears twice`, { source });
    }
    neurons[k] = all[order[k]];
    copyIdAt(sw, k, w, order[k]);
  }
  return { neurons, ids: sortedIds };
}

export function selectNeurons(all: readonly PlanNeuron[], options: SelectOptions = {}): Selection {
  const sorted = sortedById(all, "neuron list");
  const { minLength, maxLength } = options;
  checkLength(minLength, "--min-length");
  checkLength(maxLength, "--max-length");
  if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) {
    throw new InputError(`--min-length ${minLength} is greater than --max-length ${maxLength}`);
  }
  const ids = idWords(sorted.ids);
  const keep = (x: PlanNeuron): boolean =>
    (minLength === undefined || x.cable >= minLength) && (maxLength === undefined || x.cable <= maxLength);

  const pick = (listed: readonly bigint[] | undefined, role: string): { set: PlanNeuron[]; dropped: number } => {
    let candidates: readonly PlanNeuron[];
    if (listed === undefined) {
      candidates = sorted.neurons;
    } else {
      // listed ids found by binary search in the sorted id column, then taken in id order, each once
      const mark = new Uint8Array(sorted.neurons.length);
      for (const id of listed) {
        const at = typeof id === "bigint" && id >= 0n && id <= MAX_ID ? searchIds(ids, sorted.neurons.length, idKey(id)) : -1;
        if (at < 0) throw new InputError(`${role} id ${String(id)} is not in the cache`);
        mark[at] = 1;
      }
      const list: PlanNeuron[] = [];
      for (let i = 0; i < mark.length; i++) if (mark[i] === 1) list.push(sorted.neurons[i]);
      candidates = list;
    }
    if (candidates.length === 0) {
      throw new InputError(listed === undefined ? "no neurons to compare: the cache is empty" : `the ${role} id list is empty`);
    }
    const set = candidates.filter(keep);
    if (set.length === 0) {
      const from = listed === undefined ? `${all.length} neuron(s) in the cache` : `${candidates.length} listed ${role} id(s)`;
      throw new InputError(`no ${role} neurons left: none of ${from} has cable ${rangeText(minLength, maxLength)}`);
    }
    return { set, dropped: candidates.length - set.length };
  };

  const q = pick(options.queryIds, "query");
  const t = pick(options.targetIds, "target");
  // both sets hold the very objects of `sorted`, and ids are unique: identity is id equality
  const sameSet = q.set.length === t.set.length && q.set.every((x, i) => x === t.set[i]);
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
