/**
 * A pool of worker threads that runs tasks 0..total-1 and hands their results to the caller
 * strictly in task order. At most `window` tasks are dispatched ahead of the last result
 * consumed, so memory stays bounded however many tasks there are and however slow the consumer.
 */
import { Worker } from "node:worker_threads";

export interface OrderedPoolOptions<T, R> {
  workerUrl: URL;
  threads: number;
  total: number;
  makeTask: (seq: number) => T;
  /** Awaited before the next result is consumed; a throw stops the pool and rejects the run. */
  consume: (seq: number, result: R) => Promise<void> | void;
  /** What a task yields when its worker dies under it (out of memory, native crash). */
  crashed: (seq: number, error: Error) => R;
  /** Results buffered ahead of the consumer; default 8 per thread. */
  window?: number;
  /** Tasks sent to one worker at once, so one reads its next file while computing. */
  perWorker?: number;
  transferList?: (task: T) => ArrayBuffer[];
}

interface Slot {
  worker: Worker;
  tasks: Set<number>;
}

export function runOrderedPool<T, R extends { seq: number }>(o: OrderedPoolOptions<T, R>): Promise<void> {
  const total = o.total;
  const window = Math.max(1, o.window ?? 8 * o.threads);
  const perWorker = Math.max(1, o.perWorker ?? 2);
  const pending = new Map<number, R>();
  const slots: Slot[] = [];
  let nextTask = 0;
  let nextConsume = 0;
  let consuming = false;
  let settled = false;
  let completedAny = false;

  return new Promise<void>((resolve, reject) => {
    const stop = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      const terminations = slots.map((s) => s.worker.terminate());
      void Promise.allSettled(terminations).then(() => (err === undefined ? resolve() : reject(err)));
    };

    const dispatch = (): void => {
      for (const slot of slots) {
        while (!settled && slot.tasks.size < perWorker && nextTask < total && nextTask < nextConsume + window) {
          const seq = nextTask++;
          const task = o.makeTask(seq);
          slot.tasks.add(seq);
          slot.worker.postMessage(task, o.transferList?.(task) ?? []);
        }
      }
    };

    const drain = async (): Promise<void> => {
      if (consuming || settled) return;
      consuming = true;
      try {
        while (!settled && pending.has(nextConsume)) {
          const result = pending.get(nextConsume) as R;
          pending.delete(nextConsume);
          await o.consume(nextConsume, result);
          nextConsume++;
          dispatch();
        }
      } catch (err) {
        stop(err instanceof Error ? err : new Error(String(err)));
      } finally {
        consuming = false;
      }
      if (nextConsume === total) stop(undefined);
    };

    const spawn = (): Slot => {
      const slot: Slot = { worker: new Worker(o.workerUrl), tasks: new Set() };
      slot.worker.on("message", (result: R) => {
        slot.tasks.delete(result.seq);
        completedAny = true;
        pending.set(result.seq, result);
        dispatch();
        void drain();
      });
      const died = (error: Error): void => {
        if (settled) return;
        const index = slots.indexOf(slot);
        if (index < 0) return; // already replaced ('error' is followed by 'exit')
        // A worker that dies before finishing anything cannot load: a bug, not a bad neuron.
        if (!completedAny) return stop(error);
        for (const seq of slot.tasks) pending.set(seq, o.crashed(seq, error));
        slot.tasks.clear();
        slots[index] = spawn();
        dispatch();
        void drain();
      };
      slot.worker.on("error", died);
      slot.worker.on("exit", (code) => {
        if (code !== 0 || slot.tasks.size > 0) died(new Error(`worker thread exited with code ${code}`));
      });
      return slot;
    };

    if (total === 0) return resolve();
    for (let i = 0; i < Math.min(o.threads, total); i++) slots.push(spawn());
    dispatch();
  });
}
