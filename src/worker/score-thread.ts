/**
 * A scoring thread. It reads the bin's neurons from the shared packed block (no copy),
 * takes self-score jobs and then work items from shared Atomics counters until none are
 * left, and sends its rows back as transferred typed arrays.
 *
 * k-d trees (with tangents and alpha in tree order: a PreparedTarget) are built lazily,
 * the first time this thread meets a neuron as a target, and dropped at the end of the bin.
 * They are derived data, so each thread holds its own (see docs/worker.md for the cost).
 */
import { parentPort } from "node:worker_threads";
import { combineScores, isSymmetricMode, prepareTarget, rawScore, selfScore, type PreparedTarget } from "../nblast/score.ts";
import type { Dotprops } from "../nblast/types.ts";
import { RowsBuilder } from "../results/rows.ts";
import { packedNeuron, packedViews, type PackedViews } from "./packed.ts";
import { CTRL_ABORT, CTRL_ITEM, CTRL_PAIRS_BYTE, CTRL_SELF, type BinMessage, type FromThread, type ToThread } from "./protocol.ts";

if (parentPort === null) throw new Error("score-thread.ts runs as a worker thread");
const port = parentPort;

interface BinState {
  readonly msg: BinMessage;
  readonly views: PackedViews;
  readonly ctrl: Int32Array;
  readonly pairsDone: BigInt64Array;
  readonly dotprops: (Dotprops | undefined)[];
  readonly prepared: (PreparedTarget | undefined)[];
  trees: number;
  treePoints: number;
}

let state: BinState | undefined;

function reply(m: FromThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function dp(s: BinState, i: number): Dotprops {
  let d = s.dotprops[i];
  if (d === undefined) s.dotprops[i] = d = packedNeuron(s.views, i);
  return d;
}

function prep(s: BinState, i: number): PreparedTarget {
  let p = s.prepared[i];
  if (p === undefined) {
    s.prepared[i] = p = prepareTarget(dp(s, i));
    s.trees++;
    s.treePoints += p.n;
  }
  return p;
}

function aborted(s: BinState): boolean {
  return Atomics.load(s.ctrl, CTRL_ABORT) !== 0;
}

function selfPhase(s: BinState): void {
  const { selfIdx, selfs, smat, useAlpha } = s.msg;
  for (;;) {
    if (aborted(s)) return reply({ type: "aborted", seq: s.msg.seq });
    const k = Atomics.add(s.ctrl, CTRL_SELF, 1);
    if (k >= selfIdx.length) break;
    const i = selfIdx[k];
    selfs[i] = withPair(s, i, i, () => selfScore(dp(s, i), smat, useAlpha, prep(s, i)));
  }
  reply({ type: "self-done", seq: s.msg.seq });
}

/** Runs fn, naming the pair in any error it throws. */
function withPair<T>(s: BinState, q: number, t: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `query ${s.views.ids[q]}, target ${s.views.ids[t]}: ${e.message}`;
    throw e;
  }
}

function pairsPhase(s: BinState): void {
  const m = s.msg;
  const { rows: entries, items, itemCount, cols, selfs, smat, useAlpha, mode, upper, diagonal, components, minScore } = m;
  const ids = s.views.ids;
  const symmetric = isSymmetricMode(mode);
  const rows = new RowsBuilder(components, 1024);
  Atomics.load(s.ctrl, CTRL_SELF); // orders this thread's reads of selfs after phase 1's writes
  const keep = (score: number): boolean => minScore === null || !(score === score) || Math.fround(score) > minScore;
  let pairs = 0;
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
      const qd = dp(s, q);
      const qid = ids[q];
      const sq = selfs[q];
      for (let k = k0; k < k1; k++) {
        if (aborted(s)) return reply({ type: "aborted", seq: m.seq });
        const t = cols[k];
        if (t === q && !diagonal) continue;
        const tid = ids[t];
        const st = selfs[t];
        // The self pair's forward score is the self score, when the bin has it.
        const fwd = t === q && sq === sq ? sq : withPair(s, q, t, () => rawScore(qd, prep(s, t), smat, useAlpha));
        const rev = !symmetric ? NaN : t === q ? fwd : withPair(s, t, q, () => rawScore(dp(s, t), prep(s, q), smat, useAlpha));
        const score = combineScores(mode, fwd, rev, sq, st);
        // NaN passes the filter so that RowsBuilder refuses it, naming the pair.
        if (keep(score)) {
          if (components) rows.push(qid, tid, score, fwd / sq, rev / st);
          else rows.push(qid, tid, score);
        }
        if (upper && t !== q) {
          const back = combineScores(mode, rev, fwd, st, sq);
          if (keep(back)) {
            if (components) rows.push(tid, qid, back, rev / st, fwd / sq);
            else rows.push(tid, qid, back);
          }
        }
        done++;
      }
    }
    pairs += done;
    Atomics.add(s.pairsDone, 0, BigInt(done));
  }
  const out = rows.finish();
  const transfer = [out.queryId.buffer, out.targetId.buffer, out.score.buffer] as ArrayBuffer[];
  if (out.forward && out.reverse) transfer.push(out.forward.buffer as ArrayBuffer, out.reverse.buffer as ArrayBuffer);
  reply({ type: "rows", seq: m.seq, rows: out, pairs, stats: { trees: s.trees, treePoints: s.treePoints } }, transfer);
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
        trees: 0,
        treePoints: 0,
      };
      selfPhase(current);
      return;
    }
    if (current === undefined || current.msg.seq !== seq) throw new Error(`score thread: "pairs" for bin job ${seq} without its "bin"`);
    state = undefined; // the trees go with the bin
    pairsPhase(current);
  } catch (err) {
    // Stop the other threads too: the bin has failed.
    if (current !== undefined) Atomics.store(current.ctrl, CTRL_ABORT, 1);
    state = undefined;
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ type: "error", seq, name: e.name, message: e.message, stack: e.stack });
  }
});
