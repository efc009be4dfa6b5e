// A stand-in build worker for ordered-pool.test.ts: echoes each task after a delay, or dies.
import { parentPort } from "node:worker_threads";

interface Task {
  seq: number;
  delay: number;
  die?: "throw" | "exit";
}

parentPort?.on("message", (t: Task) => {
  setTimeout(() => {
    if (t.die === "throw") throw new Error(`task ${t.seq} blew up`);
    if (t.die === "exit") process.exit(7);
    parentPort?.postMessage({ seq: t.seq, ok: true, value: t.seq * 10 });
  }, t.delay);
});
