import { describe, expect, it } from "vitest";
import { runOrderedPool } from "../../src/cache/ordered-pool.ts";

const WORKER = new URL("./pool-worker.ts", import.meta.url);

interface Task {
  seq: number;
  delay: number;
  die?: "throw" | "exit";
}
type Result = { seq: number; ok: true; value: number } | { seq: number; ok: false; reason: string };

// Pseudo-random delays, so results come back out of order.
const delay = (seq: number) => (seq * 7919) % 13;

describe("runOrderedPool", () => {
  it("hands results over in task order, never running more than the window ahead", async () => {
    const seen: number[] = [];
    let consumed = 0;
    let maxAhead = 0;
    await runOrderedPool<Task, Result>({
      workerUrl: WORKER,
      threads: 2,
      total: 60,
      window: 5,
      makeTask: (seq) => {
        maxAhead = Math.max(maxAhead, seq - consumed);
        return { seq, delay: delay(seq) };
      },
      consume: async (seq, r) => {
        expect(r).toEqual({ seq, ok: true, value: seq * 10 });
        seen.push(seq);
        await new Promise((res) => setTimeout(res, seq % 3)); // a slow writer
        consumed = seq + 1;
      },
      crashed: (seq, e) => ({ seq, ok: false, reason: e.message }),
    });
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(maxAhead).toBeLessThan(5);
  });

  it.each(["throw", "exit"] as const)("a worker that dies (%s) fails its tasks and the pool goes on", async (how) => {
    const results: Result[] = [];
    await runOrderedPool<Task, Result>({
      workerUrl: WORKER,
      threads: 2,
      perWorker: 1,
      total: 12,
      makeTask: (seq) => ({ seq, delay: 2, die: seq === 6 ? how : undefined }),
      consume: (_seq, r) => void results.push(r),
      crashed: (seq, e) => ({ seq, ok: false, reason: e.message }),
    });
    expect(results.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => r.seq)).toEqual([6]);
    expect((failed[0] as { reason: string }).reason).toMatch(how === "throw" ? /task 6 blew up/ : /exited with code 7/);
  });

  it("a worker that cannot even load stops the run with its error", async () => {
    const run = runOrderedPool<Task, Result>({
      workerUrl: new URL("./no-such-worker.ts", import.meta.url),
      threads: 2,
      total: 4,
      makeTask: (seq) => ({ seq, delay: 0 }),
      consume: () => undefined,
      crashed: (seq, e) => ({ seq, ok: false, reason: e.message }),
    });
    await expect(run).rejects.toThrow(/no-such-worker/);
  });

  it("a consumer that throws stops the run with its error", async () => {
    const run = runOrderedPool<Task, Result>({
      workerUrl: WORKER,
      threads: 2,
      total: 30,
      makeTask: (seq) => ({ seq, delay: 1 }),
      consume: (seq) => {
        if (seq === 4) throw new Error("disk full");
      },
      crashed: (seq, e) => ({ seq, ok: false, reason: e.message }),
    });
    await expect(run).rejects.toThrow("disk full");
  });
});
