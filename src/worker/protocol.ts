/**
 * Messages between the score pool (main thread) and its scoring threads, and the layout
 * of the shared control block.
 *
 * One bin is two phases, each ended by every thread's reply (the barrier):
 *   "bin"   -> every thread takes neurons from the shared counter, builds each one's k-d
 *              tree into the shared tree block and computes its self score if the bin
 *              needs it                                                  -> "prepared"
 *   "pairs" -> every thread takes work items from the shared counter     -> "rows"
 * A thread answers "aborted" when the abort flag is set and "error" when scoring throws
 * (it sets the abort flag first, so the others stop too).
 */
import type { Normalization } from "../nblast/modes.ts";
import type { ScoreMatrix } from "../nblast/smat.ts";
import type { ScoreRows } from "../results/rows.ts";
import type { PackedNeurons, TreeBlock } from "./packed.ts";

/** Int32 slots of the control block: the phase 1 (trees and self scores) and tile counters, the abort flag. */
export const CTRL_PREP = 0;
export const CTRL_ITEM = 1;
export const CTRL_ABORT = 2;
/** Byte offset of the BigInt64 count of pairs scored (progress). */
export const CTRL_PAIRS_BYTE = 16;
export const CTRL_BYTES = 24;

/** One bin's work as the threads take it (see bin-job.ts and packed.ts). */
export interface ScoreJob {
  readonly packed: PackedNeurons;
  readonly selfIdx: Int32Array;
  /** Self scores by local index (NaN where the bin needs none), a shared Float64Array filled in phase 1. */
  readonly selfs: Float64Array;
  /** (query, k0, k1, selfK) per block row; see bin-job.ts. */
  readonly rows: Int32Array;
  /** (e0, e1, c0, c1) per tile. */
  readonly items: Int32Array;
  readonly itemCount: number;
  readonly cols: Int32Array;
  readonly mode: Normalization;
  readonly useAlpha: boolean;
  readonly smat: ScoreMatrix;
  /** Each pair is unordered: emit (q, t) and (t, q). */
  readonly upper: boolean;
  readonly diagonal: boolean;
  /** Keep the normalised forward and reverse scores. */
  readonly components: boolean;
  /** Pre-filter: keep rows whose float32 score is > minScore (null keeps all). */
  readonly minScore: number | null;
  /** Skip pairs whose score bound proves them below minScore (src/nblast/prune.ts); off without a minScore. */
  readonly prune?: boolean;
}

export interface BinMessage extends ScoreJob {
  readonly type: "bin";
  readonly seq: number;
  /** The k-d trees to build in phase 1 (trees.order) and where each goes. */
  readonly trees: TreeBlock;
  readonly control: SharedArrayBuffer;
}

export interface PairsMessage {
  readonly type: "pairs";
  readonly seq: number;
}

export type ToThread = BinMessage | PairsMessage;

export interface ThreadStats {
  /** k-d trees this thread built into the shared block, and their points. */
  readonly trees: number;
  readonly treePoints: number;
}

export type FromThread =
  | { readonly type: "prepared"; readonly seq: number }
  | { readonly type: "rows"; readonly seq: number; readonly rows: ScoreRows; readonly pairs: number; readonly pruned: number; readonly searches: number; readonly stats: ThreadStats }
  | { readonly type: "aborted"; readonly seq: number }
  | { readonly type: "error"; readonly seq: number; readonly name: string; readonly message: string; readonly stack?: string };
