/**
 * A scoring thread. It reads the bin's neurons from the shared packed block (no copy),
 * and in two phases takes work from shared Atomics counters until none is left:
 *
 * 1. neurons: it builds each one's k-d tree (with tangents and alpha in tree order: a
 *    PreparedTarget) into the neuron's slot of the shared tree block, and computes the
 *    neuron's self score there if the bin needs it (that reads only the tree just built);
 * 2. tiles of pairs, after every thread has finished phase 1 (the pool's barrier).
 *
 * So each tree is built once per bin, whatever the thread count. In phase 2 a thread opens
 * the trees it meets with preparedTargetFrom: a few typed-array views and its own query
 * state over the shared bytes. Those wrappers, and the neurons' dotprops views, are kept
 * for one tile only, so a thread's own memory does not grow with the bin's trees.
 */
import { parentPort } from "node:worker_threads";
import { combineScores, isSymmetricMode, prepareTargetInto, preparedTargetFrom, rawScore, selfScore, type PreparedTarget } from "../nblast/score.ts";
import { boundingBox, ScoreBounds, validForAlpha } from "../nblast/bounds.ts";
import { provablyBelow, type PruneSide, type PruneSpec } from "../nblast/prune.ts";
import type { Dotprops } from "../nblast/types.ts";
import { RowsBuilder } from "../results/rows.ts";
import { packedNeuron, packedViews, type PackedViews } from "./packed.ts";
import { CTRL_ABORT, CTRL_ITEM, CTRL_PAIRS_BYTE, CTRL_PREP, type BinMessage, type FromThread, type ToThread } from "./protocol.ts";

if (parentPort === null) throw new Error("score-thread.ts runs as a worker thread");
const port = parentPort;

interface BinState {
  readonly msg: BinMessage;
  readonly views: PackedViews;
  readonly ctrl: Int32Array;
  readonly pairsDone: BigInt64Array;
  /** Per neuron, while held: its dotprops views and its opened tree. */
  readonly dotprops: (Dotprops | undefined)[];
  readonly prepared: (PreparedTarget | undefined)[];
  /** Neurons whose dotprops are held (the first `heldCount`), to let go of at the end of a tile. */
  readonly held: Int32Array;
  heldCount: number;
  trees: number;
  treePoints: number;
}

let state: BinState | undefined;

function reply(m: FromThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function dp(s: BinState, i: number): Dotprops {
  let d = s.dotprops[i];
  if (d === undefined) {
    s.dotprops[i] = d = packedNeuron(s.views, i);
    s.held[s.heldCount++] = i;
  }
  return d;
}

/** Neuron i's tree, built by whichever thread in phase 1. */
function prep(s: BinState, i: number): PreparedTarget {
  let p = s.prepared[i];
  if (p === undefined) {
    const at = s.msg.trees.offsets[i];
    if (!(at >= 0)) throw new Error(`neuron ${s.views.ids[i]}: the bin built no k-d tree for it`);
    s.prepared[i] = p = preparedTargetFrom(dp(s, i), s.msg.trees.buffer, at);
  }
  return p;
}

/** Neuron i as a query: its tree when the bin built one (points in tree order score faster), else its dotprops. */
function asQuery(s: BinState, i: number): Dotprops | PreparedTarget {
  return s.msg.trees.offsets[i] >= 0 ? prep(s, i) : dp(s, i);
}

/** Lets go of the dotprops views and tree wrappers held so far. */
function release(s: BinState): void {
  for (let k = 0; k < s.heldCount; k++) {
    const i = s.held[k];
    s.dotprops[i] = undefined;
    s.prepared[i] = undefined;
  }
  s.heldCount = 0;
}

function aborted(s: BinState): boolean {
  return Atomics.load(s.ctrl, CTRL_ABORT) !== 0;
}

/** Phase 1: trees (into the shared block) and self scores, a neuron at a time. */
function prepPhase(s: BinState): void {
  const { selfIdx, selfs, smat, useAlpha, trees } = s.msg;
  const wantSelf = new Uint8Array(s.views.ids.length);
  for (let k = 0; k < selfIdx.length; k++) wantSelf[selfIdx[k]] = 1;
  const order = trees.order;
  for (;;) {
    if (aborted(s)) return reply({ type: "aborted", seq: s.msg.seq });
    const k = Atomics.add(s.ctrl, CTRL_PREP, 1);
    if (k >= order.length) break;
    const i = order[k];
    const d = dp(s, i);
    const p = withNeuron(s, i, () => prepareTargetInto(d, trees.buffer, trees.offsets[i]));
    s.trees++;
    s.treePoints += p.n;
    if (wantSelf[i] === 1) selfs[i] = withPair(s, i, i, () => selfScore(d, smat, useAlpha, p));
    release(s);
  }
  reply({ type: "prepared", seq: s.msg.seq });
}

function withNeuron<T>(s: BinState, i: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw named(err, `neuron ${s.views.ids[i]}`);
  }
}

function named(err: unknown, what: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  e.message = `${what}: ${e.message}`;
  return e;
}

/** Runs fn, naming the pair in any error it throws. */
function withPair<T>(s: BinState, q: number, t: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw named(err, `query ${s.views.ids[q]}, target ${s.views.ids[t]}`);
  }
}

function pairsPhase(s: BinState): void {
  const m = s.msg;
  const { rows: entries, items, itemCount, cols, selfs, smat, useAlpha, mode, upper, diagonal, components, minScore } = m;
  const ids = s.views.idWords;
  const symmetric = isSymmetricMode(mode);
  const rows = new RowsBuilder(components, 1024);
  // Every thread's last act in phase 1 was an Atomics.add on this counter, after its writes
  // to the trees and selfs: reading it orders this thread's reads after all of them.
  Atomics.load(s.ctrl, CTRL_PREP);
  const keep = (score: number): boolean => minScore === null || !(score === score) || Math.fround(score) > minScore;
  const pruner = m.prune === true && minScore !== null ? makePruner(s, { bounds: new ScoreBounds(smat), mode, useAlpha, minScore, both: upper }) : undefined;
  let pairs = 0;
  let pruned = 0;
  // nearest-neighbour queries made: a query point searched in a target tree
  let searches = 0;
  const off = s.views.offsets;
  for (;;) {
    const it = Atomics.add(s.ctrl, CTRL_ITEM, 1);
    if (it >= itemCount) break;
    const e1 = items[4 * it + 1];
    const c0 = items[4 * it + 2];
    const c1 = items[4 * it + 3];
    let done = 0;
    for (let e = items[4 * it]; e < e1; e++) {
      const q = entries[4 * e];
      const k0 = Math.max(c0, entries[4 * e + 1]);
      const k1 = Math.min(c1, entries[4 * e + 2]);
      if (k0 >= k1) continue;
      const qd = asQuery(s, q);
      const sq = selfs[q];
      for (let k = k0; k < k1; k++) {
        if (aborted(s)) return reply({ type: "aborted", seq: m.seq });
        const t = cols[k];
        if (t === q && !diagonal) continue;
        const st = selfs[t];
        if (pruner !== undefined && t !== q && pruner(q, t)) {
          pruned++;
          done++;
          continue;
        }
        // The self pair's forward score is the self score, when the bin has it.
        const fwd = t === q && sq === sq ? sq : withPair(s, q, t, () => rawScore(qd, prep(s, t), smat, useAlpha));
        const rev = !symmetric ? NaN : t === q ? fwd : withPair(s, t, q, () => rawScore(asQuery(s, t), prep(s, q), smat, useAlpha));
        if (!(t === q && sq === sq)) searches += off[q + 1] - off[q];
        if (symmetric && t !== q) searches += off[t + 1] - off[t];
        const score = combineScores(mode, fwd, rev, sq, st);
        // NaN passes the filter so that RowsBuilder refuses it, naming the pair.
        // Rows get the ids by local index, copied word by word (src/ids/words.ts).
        if (keep(score)) {
          if (components) rows.pushFrom(ids, q, t, score, fwd / sq, rev / st);
          else rows.pushFrom(ids, q, t, score);
        }
        if (upper && t !== q) {
          const back = combineScores(mode, rev, fwd, st, sq);
          if (keep(back)) {
            if (components) rows.pushFrom(ids, t, q, back, rev / st, fwd / sq);
            else rows.pushFrom(ids, t, q, back);
          }
        }
        done++;
      }
    }
    release(s);
    pairs += done;
    Atomics.add(s.pairsDone, 0, BigInt(done));
  }
  const out = rows.finish();
  const transfer = [out.queryId.buffer, out.targetId.buffer, out.score.buffer] as ArrayBuffer[];
  if (out.forward && out.reverse) transfer.push(out.forward.buffer as ArrayBuffer, out.reverse.buffer as ArrayBuffer);
  reply({ type: "rows", seq: m.seq, rows: out, pairs, pruned, searches, stats: { trees: s.trees, treePoints: s.treePoints } }, transfer);
}

/**
 * The pair test of prune.ts over the bin's neurons: boxes and alpha validity are computed
 * once per neuron per thread (a few floats each), trees are the bin's shared ones.
 */
function makePruner(s: BinState, spec: PruneSpec): (q: number, t: number) => boolean {
  const n = s.views.ids.length;
  const boxes = new Float64Array(6 * n);
  const known = new Uint8Array(n); // 0 unknown, 1 valid for alpha, 2 not
  const side = (i: number): PruneSide => {
    const d = dp(s, i);
    const box = boxes.subarray(6 * i, 6 * i + 6);
    if (known[i] === 0) {
      boundingBox(d.points, box);
      known[i] = validForAlpha(d) ? 1 : 2;
    }
    const tree = s.msg.trees.offsets[i] >= 0 ? prep(s, i).tree : undefined;
    return { points: d.points, box, tree, self: s.msg.selfs[i], validAlpha: known[i] === 1 };
  };
  return (q, t) => withPair(s, q, t, () => provablyBelow(spec, side(q), side(t)));
}

port.on("message", (msg: ToThread) => {
  const seq = msg.seq;
  let current = state;
  try {
    if (msg.type === "bin") {
      const n = msg.packed.count;
      state = current = {
        msg,
        views: packedViews(msg.packed),
        ctrl: new Int32Array(msg.control, 0, 4),
        pairsDone: new BigInt64Array(msg.control, CTRL_PAIRS_BYTE, 1),
        dotprops: new Array(n),
        prepared: new Array(n),
        held: new Int32Array(n),
        heldCount: 0,
        trees: 0,
        treePoints: 0,
      };
      prepPhase(current);
      return;
    }
    if (current === undefined || current.msg.seq !== seq) throw new Error(`score thread: "pairs" for bin job ${seq} without its "bin"`);
    state = undefined; // the bin's blocks go with it
    pairsPhase(current);
  } catch (err) {
    // Stop the other threads too: the bin has failed.
    if (current !== undefined) Atomics.store(current.ctrl, CTRL_ABORT, 1);
    state = undefined;
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ type: "error", seq, name: e.name, message: e.message, stack: e.stack });
  }
});
