/**
 * A pool of scoring threads that scores one bin at a time on all of them, and can be
 * reused for the next bin (the local engine runs every bin of a run through one pool).
 *
 * The bin's neurons, their k-d trees, self scores, work items and a control block are
 * SharedArrayBuffers handed to every thread; threads pull work through Atomics counters,
 * so a slow item never holds up the others. Each tree is built once per bin, by one
 * thread, before any pair is scored; every thread then queries it. Idle threads are
 * unref'd: a pool nobody closed does not keep the process alive between bins.
 */
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { InputError } from "../nblast/errors.ts";
import { isSymmetricMode } from "../nblast/modes.ts";
import type { ScoreRows } from "../results/rows.ts";
import { neededTrees } from "./bin-job.ts";
import { allocTreeBlock, packedViews } from "./packed.ts";
import {
  CTRL_ABORT,
  CTRL_BYTES,
  CTRL_PAIRS_BYTE,
  type BinMessage,
  type FromThread,
  type PairsMessage,
  type ScoreJob,
} from "./protocol.ts";

// .ts under Node's type stripping (tests), .js in dist/.
const THREAD_URL = new URL("./score-thread" + extname(fileURLToPath(import.meta.url)), import.meta.url);

export type { ScoreJob } from "./protocol.ts";

export interface ScoreRunOptions {
  signal?: AbortSignal;
  /** Called when the pair phase starts (trees and self scores are done). */
  onScoring?: () => void;
  /** Pairs scored so far in this bin, every `progressMs` during the pair phase. */
  onPairs?: (pairs: number) => void;
  progressMs?: number;
}

export interface ScoreResult {
  /** One set of rows per thread, in no particular order. */
  readonly rows: ScoreRows[];
  readonly pairs: number;
  /** Of `pairs`, those proven below the run's minScore and never searched. */
  readonly pruned: number;
  /** Nearest-neighbour queries made (query points searched in a target's tree). */
  readonly searches: number;
  /** k-d trees built over all threads (each once), their points and the shared block's bytes. */
  readonly trees: number;
  readonly treePoints: number;
  readonly treeBytes: number;
  /** Wall seconds of each phase: trees and self scores, then pairs. */
  readonly selfSeconds: number;
  readonly scoringSeconds: number;
}

class Slot {
  readonly worker: Worker;
  dead: Error | undefined;
  private readonly inbox: FromThread[] = [];
  private waiter: { resolve: (m: FromThread) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    this.worker = new Worker(THREAD_URL);
    this.worker.unref();
    this.worker.on("message", (m: FromThread) => {
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w.resolve(m);
      else this.inbox.push(m);
    });
    const die = (e: Error): void => {
      this.dead ??= e;
      const w = this.waiter;
      this.waiter = undefined;
      w?.reject(this.dead);
    };
    this.worker.on("error", (e) => die(new Error(`a scoring thread crashed: ${e.message}`, { cause: e })));
    this.worker.on("exit", (code) => die(new Error(`a scoring thread exited (code ${code})`)));
  }

  next(): Promise<FromThread> {
    const m = this.inbox.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

export class ScorePool {
  readonly threads: number;
  private slots: Slot[] = [];
  private seq = 0;
  private busy = false;
  private closed = false;

  constructor(threads: number) {
    if (!(Number.isSafeInteger(threads) && threads >= 1)) throw new InputError(`threads must be a positive integer, got ${String(threads)}`);
    this.threads = threads;
  }

  /** Scores one bin on every thread. Rejects with the signal's reason when aborted. */
  async run(job: ScoreJob, opts: ScoreRunOptions = {}): Promise<ScoreResult> {
    if (this.closed) throw new Error("ScorePool.run after close()");
    if (this.busy) throw new Error("ScorePool.run: one bin at a time");
    opts.signal?.throwIfAborted();
    this.busy = true;
    this.slots = this.slots.filter((s) => s.dead === undefined);
    while (this.slots.length < this.threads) this.slots.push(new Slot());
    const slots = this.slots;
    for (const s of slots) s.worker.ref();

    const seq = ++this.seq;
    const control = new SharedArrayBuffer(CTRL_BYTES);
    const ctrl = new Int32Array(control, 0, 4);
    const pairsDone = new BigInt64Array(control, CTRL_PAIRS_BYTE, 1);
    const stop = (): void => {
      Atomics.store(ctrl, CTRL_ABORT, 1);
    };
    opts.signal?.addEventListener("abort", stop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const t0 = performance.now();
      const trees = allocTreeBlock(packedViews(job.packed), neededTrees(job.packed.count, job, isSymmetricMode(job.mode)));
      const bin: BinMessage = { type: "bin", seq, control, trees, ...job };
      for (const s of slots) s.worker.postMessage(bin);
      await this.phase(slots, "prepared", stop, opts.signal);
      const t1 = performance.now();

      opts.onScoring?.();
      if (opts.onPairs) {
        const report = opts.onPairs;
        timer = setInterval(() => report(Number(Atomics.load(pairsDone, 0))), opts.progressMs ?? 500);
      }
      const pairsMsg: PairsMessage = { type: "pairs", seq };
      for (const s of slots) s.worker.postMessage(pairsMsg);
      const replies = await this.phase(slots, "rows", stop, opts.signal);
      const t2 = performance.now();
      const rows: ScoreRows[] = [];
      let pairs = 0;
      let pruned = 0;
      let searches = 0;
      let built = 0;
      let treePoints = 0;
      for (const r of replies) {
        if (r.type !== "rows") continue;
        rows.push(r.rows);
        pairs += r.pairs;
        pruned += r.pruned;
        searches += r.searches;
        built += r.stats.trees;
        treePoints += r.stats.treePoints;
      }
      if (built !== trees.order.length || treePoints !== trees.points) {
        throw new Error(`scoring threads built ${built} trees of ${treePoints} points, the bin needs ${trees.order.length} of ${trees.points}`);
      }
      opts.onPairs?.(pairs);
      return { rows, pairs, pruned, searches, trees: built, treePoints, treeBytes: trees.buffer.byteLength, selfSeconds: (t1 - t0) / 1000, scoringSeconds: (t2 - t1) / 1000 };
    } finally {
      if (timer !== undefined) clearInterval(timer);
      opts.signal?.removeEventListener("abort", stop);
      for (const s of slots) if (s.dead === undefined) s.worker.unref();
      this.busy = false;
    }
  }

  /** Waits for every thread's answer to one phase; any failure stops them all and throws. */
  private async phase(slots: Slot[], want: FromThread["type"], stop: () => void, signal: AbortSignal | undefined): Promise<FromThread[]> {
    const settled = await Promise.allSettled(
      slots.map((s) =>
        s.next().then(
          (m) => {
            if (m.type !== want) stop();
            return m;
          },
          (e: unknown) => {
            stop();
            throw e;
          },
        ),
      ),
    );
    let failure: Error | undefined;
    let abortedAny = false;
    const out: FromThread[] = [];
    for (const r of settled) {
      if (r.status === "rejected") failure ??= r.reason as Error;
      else if (r.value.type === "error") failure ??= threadError(r.value);
      else if (r.value.type === "aborted") abortedAny = true;
      else out.push(r.value);
    }
    if (failure) throw failure;
    if (abortedAny) throw signal?.reason ?? new DOMException("This operation was aborted", "AbortError");
    return out;
  }

  /** Ends every thread. The pool cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.allSettled(slots.map((s) => s.worker.terminate()));
  }
}

function threadError(m: { name: string; message: string; stack?: string }): Error {
  const e = m.name === "InputError" ? new InputError(m.message) : m.name === "RangeError" ? new RangeError(m.message) : new Error(m.message);
  if (m.stack !== undefined) e.stack = m.stack;
  return e;
}
