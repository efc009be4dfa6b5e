import { spawn } from "node:child_process";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCache, openCache, type CacheReader } from "../../src/cache/index.ts";
import { collectInputs } from "../../src/inputs/index.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { binStatus, doneKey } from "../../src/worker/index.ts";
import { FCTRACES, PARAMS, mergedRows, planRun, tempDir } from "./helpers.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

let work: Awaited<ReturnType<typeof tempDir>>;
let cache: CacheReader;

// 100 neurons (fctraces20 five times) so that one bin of three takes long enough to be
// killed in the middle: 1650 pairs, about a second of scoring on one thread.
beforeAll(async () => {
  work = await tempDir("kill");
  const swc = join(work.path, "swc");
  await mkdir(swc);
  const files = (await readdir(FCTRACES)).filter((f) => f.endsWith(".swc"));
  for (let c = 0; c < 5; c++) for (const f of files) await copyFile(join(FCTRACES, f), join(swc, `c${c}_${f}`));
  const out = new LocalStorage(join(work.path, "cache"));
  await buildCache({ inputs: await collectInputs([swc]), out, params: PARAMS, precision: "float32", threads: 2 });
  cache = await openCache(out);
});
afterAll(() => work?.cleanup());

interface Child {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the worker entry; `killOn` SIGKILLs it as soon as stderr shows that text. */
function worker(run: string, bin: number, killOn?: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, "worker", "--run", run, "--bin", String(bin), "--threads", "1"], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr += d;
      if (killOn !== undefined && stderr.includes(killOn)) child.kill("SIGKILL");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe("a worker killed with SIGKILL in the middle of a bin", () => {
  it("leaves the bin pending, and a rerun completes the run with every pair exactly once", async () => {
    const runDir = join(work.path, "run");
    const run = new LocalStorage(runDir);
    await planRun(run, cache, { bins: 3, normalization: "mean" });

    const first = await worker(runDir, 0);
    expect(first.stderr).toContain("bin 0: done");
    expect(first.code).toBe(0);

    const killed = await worker(runDir, 1, "bin 1: scoring");
    expect(killed.signal).toBe("SIGKILL");
    expect(killed.stderr).not.toContain("bin 1: done");
    expect(await run.size(doneKey(1))).toBeUndefined();

    // What a kill during the shard's write could leave: a stray temp file; and a torn shard
    // without a marker. Neither counts as done.
    await mkdir(join(runDir, "shards"), { recursive: true });
    await writeFile(join(runDir, "shards", ".bin=1.parquet.0123456789ab.nbf-tmp"), "partial");
    const shard0 = await readFile(join(runDir, "shards", "bin=0.parquet"));
    await writeFile(join(runDir, "shards", "bin=2.parquet"), shard0.subarray(0, shard0.length >> 1));
    const status = await binStatus(run);
    expect(status.done).toEqual([0]);
    expect(status.pending).toEqual([1, 2]);

    for (const bin of [0, 1, 2]) {
      const again = await worker(runDir, bin);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain(bin === 0 ? "bin 0: skipped" : `bin ${bin}: done`);
    }
    expect((await binStatus(run)).counts).toEqual({ done: 3, failed: 0, pending: 0 });
    const rows = await mergedRows(run); // throws on any pair stored twice
    const n = cache.count;
    expect(rows.length).toBe(n * (n - 1)); // every ordered pair but the self pairs, once
    const pairs = new Set<string>();
    for (let i = 0; i < rows.length; i++) pairs.add(`${rows.queryId[i]},${rows.targetId[i]}`);
    expect(pairs.size).toBe(n * (n - 1));
  });
});
