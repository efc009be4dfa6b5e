/**
 * One bin's work, spelled out from the manifest for a worker: the blocks, which neurons
 * to read, which self scores to compute, and the pairs themselves.
 *
 * Self scores: every bin computes the self score of every neuron it needs one for
 * (normalized: its queries; symmetric modes: every neuron it meets). No bin depends on
 * another; the planner charges each bin for these.
 */
import { InputError } from "../nblast/errors.ts";
import type { RunManifest } from "./manifest.ts";
import { isSymmetric, type Block, type Layout, type Normalization, type WorkPlan } from "./types.ts";

export interface BinWork {
  readonly index: number;
  /** Number of bins in the run. */
  readonly bins: number;
  readonly layout: Layout;
  /** Pairs of a neuron with itself are part of the work. */
  readonly diagonal: boolean;
  readonly normalization: Normalization;
  /** The run's query ids; blocks index into these. */
  readonly queries: readonly number[];
  /** The run's target ids (the query list itself when all-by-all). */
  readonly targets: readonly number[];
  readonly blocks: readonly Block[];
  /** Estimated cost (docs/plan.md units). */
  readonly cost: number;
  /** Ids of every neuron this bin reads, ascending. */
  readonly neurons: readonly number[];
  /** Ids whose self score this bin computes, ascending. */
  readonly selfScores: readonly number[];
}

/** The work of bin `index` (0-based) of a run. */
export function binWork(manifest: RunManifest, index: number): BinWork {
  return planBinWork(manifest.work, manifest.scoring.normalization, index);
}

/** binWork for a plan not (yet) in a manifest. */
export function planBinWork(w: WorkPlan, mode: Normalization, index: number): BinWork {
  const n = w.bins.length;
  if (!(Number.isSafeInteger(index) && index >= 0 && index < n)) {
    throw new InputError(`bin ${String(index)} does not exist: the run has ${n} bins, numbered 0 to ${n - 1}`);
  }
  const queries = w.queries;
  const targets = w.targets === "queries" ? w.queries : w.targets;
  const bin = w.bins[index];
  const blocks: Block[] = bin.blocks.map((b) => ({ rows: [b.rows[0], b.rows[1]], cols: [b.cols[0], b.cols[1]] }));
  const rowIds = new Set<number>();
  const colIds = new Set<number>();
  for (const b of blocks) {
    for (let i = b.rows[0]; i < b.rows[1]; i++) rowIds.add(queries[i]);
    for (let j = b.cols[0]; j < b.cols[1]; j++) colIds.add(targets[j]);
  }
  const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
  const neurons = sorted(new Set([...rowIds, ...colIds]));
  const selfScores = isSymmetric(mode) ? neurons : mode === "normalized" ? sorted(rowIds) : [];
  return {
    index,
    bins: n,
    layout: w.layout,
    diagonal: w.diagonal,
    normalization: mode,
    queries,
    targets,
    blocks,
    cost: bin.cost,
    neurons,
    selfScores,
  };
}

/**
 * Calls fn(queryId, targetId) for every pair the bin owns, block by block, rows outer.
 * rows layout: every (query, target) of each block. upper layout: (ids[i], ids[j]) with
 * i < j; in both, a neuron paired with itself only when `diagonal`.
 */
export function forEachPair(work: BinWork, fn: (query: number, target: number) => void): void {
  const { queries, targets, diagonal } = work;
  for (const b of work.blocks) {
    const [r0, r1] = b.rows;
    const [c0, c1] = b.cols;
    for (let i = r0; i < r1; i++) {
      const q = queries[i];
      if (work.layout === "upper") {
        for (let j = Math.max(c0, diagonal ? i : i + 1); j < c1; j++) fn(q, targets[j]);
      } else {
        for (let j = c0; j < c1; j++) {
          const t = targets[j];
          if (diagonal || t !== q) fn(q, t);
        }
      }
    }
  }
}
