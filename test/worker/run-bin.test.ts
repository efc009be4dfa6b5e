import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheReader } from "../../src/cache/index.ts";
import { runLocal } from "../../src/backends/local/index.ts";
import { InputError } from "../../src/nblast/errors.ts";
import { applyPolicy } from "../../src/results/policy.ts";
import { decodeShard } from "../../src/results/shard.ts";
import { shardKey } from "../../src/results/shard.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { TOOL_VERSION } from "../../src/version.ts";
import { binStatus, doneKey, failedKey, runBin, type DoneMarker } from "../../src/worker/index.ts";
import { buildTestCache, mergedRows, planRun, referenceRows, rowsDiff, tempDir, type RunSpec } from "./helpers.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
let cache: CacheReader;
let runCount = 0;

beforeAll(async () => {
  work = await tempDir("bin");
  cache = await buildTestCache(new LocalStorage(join(work.path, "cache")), 10);
});
afterAll(() => work?.cleanup());

function newRun(): LocalStorage {
  return new LocalStorage(join(work.path, `run-${runCount++}`));
}

/** A minScore equal to the median float32 score of the unfiltered reference, to test exclusivity. */
async function medianScore(spec: RunSpec): Promise<number> {
  const all = await referenceRows(cache, { ...spec, minScore: undefined, topN: undefined });
  const sorted = Float32Array.from(all.score).sort();
  return sorted[sorted.length >> 1];
}

async function markers(run: LocalStorage, bins: number): Promise<DoneMarker[]> {
  const out: DoneMarker[] = [];
  for (let b = 0; b < bins; b++) out.push(JSON.parse(new TextDecoder().decode(await run.get(doneKey(b)))) as DoneMarker);
  return out;
}

describe("a run's merged rows", () => {
  for (const normalization of ["normalized", "mean"] as const) {
    it(`are scoreAllByAll's, bit for bit, for 1, 3 and 7 bins on 1 and 2 threads (${normalization})`, async () => {
      const base: RunSpec = { bins: 1, normalization, keepForwardReverse: normalization === "mean" };
      const minScore = await medianScore(base);
      const want = await referenceRows(cache, { ...base, minScore });
      // the threshold is exclusive: the row scoring exactly minScore is gone
      expect(want.length).toBeGreaterThan(10);
      expect(Array.from(want.score).every((s) => s > minScore)).toBe(true);
      const shas = new Map<number, string[]>();
      for (const bins of [1, 3, 7]) {
        for (const threads of [1, 2]) {
          const run = newRun();
          const spec = { ...base, bins, minScore };
          await planRun(run, cache, spec);
          const summary = await runLocal({ run, threads });
          expect(summary.failed).toEqual([]);
          expect(summary.done).toBe(bins);
          const got = await mergedRows(run); // throws on a pair stored twice
          expect(rowsDiff(got, want), `${bins} bins, ${threads} threads`).toBeUndefined();
          const ms = await markers(run, bins);
          const key = ms.map((m) => m.shard.sha256).join(",");
          // every tree the bin needs (here all its neurons), built once whatever the thread count
          for (const m of ms) expect([m.trees.built, m.trees.points]).toEqual([m.neurons.count, m.neurons.points]);
          shas.set(bins, [...(shas.get(bins) ?? []), key]);
          expect(ms.every((m) => m.threads === threads)).toBe(true);
        }
      }
      // the shards themselves are byte-identical whatever the thread count
      for (const [, keys] of shas) expect(new Set(keys).size).toBe(1);
    });
  }

  it("upper layout with self pairs, topN and useAlpha: per-bin topN is a pre-filter, merged topN is exact", async () => {
    const spec: RunSpec = { bins: 4, normalization: "geometric-mean", useAlpha: true, keepSelf: true, topN: 3 };
    const run = newRun();
    const m = await planRun(run, cache, spec);
    expect(m.work.layout).toBe("upper");
    const summary = await runLocal({ run, threads: 2 });
    expect(summary.failed).toEqual([]);
    // each bin kept at most 3 rows per query; the merge of bins may hold more
    for (let b = 0; b < 4; b++) {
      const rows = await decodeShard(await run.get(shardKey(b)));
      const perQuery = new Map<bigint, number>();
      for (const q of rows.queryId) perQuery.set(q, (perQuery.get(q) ?? 0) + 1);
      expect(Math.max(...perQuery.values())).toBeLessThanOrEqual(3);
    }
    const ms = await markers(run, 4);
    expect(ms.some((x) => x.rowsComputed > x.shard.rows)).toBe(true); // topN did cut in some bin
    const merged = await mergedRows(run);
    const got = applyPolicy(merged, { minScore: undefined, topN: 3, keepSelf: true });
    expect(rowsDiff(got, await referenceRows(cache, spec))).toBeUndefined();
    // self pairs: each neuron once
    const selfRows = Array.from(merged.queryId).filter((q, i) => q === merged.targetId[i]);
    expect(selfRows.sort((a, b) => (a < b ? -1 : 1))).toEqual(Array.from(cache.neurons.ids));
  });

  it("rows layout in a symmetric mode with different query and target sets, and raw scores", async () => {
    const ids = Array.from(cache.neurons.ids);
    const queryIds = ids.slice(0, 6);
    const targetIds = ids.slice(3);
    for (const normalization of ["max", "raw"] as const) {
      const spec: RunSpec = { bins: 5, normalization, queryIds, targetIds };
      const run = newRun();
      const m = await planRun(run, cache, spec);
      expect(m.work.layout).toBe("rows");
      expect((await runLocal({ run, threads: 2 })).failed).toEqual([]);
      const all = await referenceRows(cache, { ...spec, queryIds: undefined, targetIds: undefined });
      const keep = Array.from({ length: all.length }, (_, i) => i).filter(
        (i) => queryIds.includes(all.queryId[i]) && targetIds.includes(all.targetId[i]),
      );
      const got = await mergedRows(run);
      expect(got.length).toBe(keep.length);
      expect(rowsDiff(got, { ...all, queryId: BigInt64Array.from(keep, (i) => all.queryId[i]), targetId: BigInt64Array.from(keep, (i) => all.targetId[i]), score: Float32Array.from(keep, (i) => all.score[i]), length: keep.length })).toBeUndefined();
    }
  });
});

describe("runBin", () => {
  it("writes the shard, then a done marker with rows, sha256, timings, memory, host, version and threads", async () => {
    const run = newRun();
    await planRun(run, cache, { bins: 2, normalization: "mean", minScore: 0 });
    await run.put(failedKey(1), "{}"); // an earlier attempt failed
    const phases: string[] = [];
    const out = await runBin({ run, bin: 1, threads: 2, onProgress: (p) => phases.push(p.phase) });
    expect(out.status).toBe("done");
    expect(await run.size(failedKey(1))).toBeUndefined();
    expect([...new Set(phases)]).toEqual(["check", "load", "self-scores", "scoring", "write"]);
    const m = out.marker;
    const bytes = await run.get(shardKey(1));
    expect(m.shard.bytes).toBe(bytes.length);
    expect(m.shard.rows).toBe((await decodeShard(bytes)).length);
    expect(m.tool.version).toBe(TOOL_VERSION);
    expect(m.threads).toBe(2);
    expect(m.host.length).toBeGreaterThan(0);
    expect(m.peakMemory).toBeGreaterThan(10 * 2 ** 20);
    expect(m.pairs).toBeGreaterThan(0);
    expect(m.trees.built).toBeGreaterThan(0);
    // Every tree is 8-aligned in the shared block and holds at least its coordinates.
    expect(m.trees.bytes).toBeGreaterThanOrEqual(24 * m.trees.points);
    for (const k of ["load", "selfScores", "scoring", "write", "total"] as const) expect(m.timings[k]).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(await readFile(join(run.uri, "done/1.json"), "utf8"))).toEqual(m);
    const status = await binStatus(run);
    expect(status.counts).toEqual({ done: 1, failed: 0, pending: 1 });
    expect(status.pending).toEqual([0]);
  });

  it("skips a bin whose marker and shard hold, and recomputes one whose shard does not match", async () => {
    const run = newRun();
    await planRun(run, cache, { bins: 2, normalization: "normalized" });
    const first = await runBin({ run, bin: 0, threads: 1 });
    const path = join(run.uri, "shards/bin=0.parquet");
    const before = await stat(path);
    const again = await runBin({ run, bin: 0, threads: 1 });
    expect(again.status).toBe("skipped");
    expect(again.marker).toEqual(first.marker);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);

    // a damaged shard: the marker no longer holds, the bin is recomputed to the same bytes
    const good = await readFile(path);
    await writeFile(path, good.subarray(0, good.length - 7));
    expect((await binStatus(run)).counts.done).toBe(0);
    const redone = await runBin({ run, bin: 0, threads: 2 });
    expect(redone.status).toBe("done");
    expect(redone.marker.shard.sha256).toBe(first.marker.shard.sha256);
    expect(Buffer.compare(await readFile(path), good)).toBe(0);

    // a shard without a marker (a worker killed between the two writes) is not done
    await run.delete(doneKey(0));
    expect((await binStatus(run)).pending).toEqual([0, 1]);
    expect((await runBin({ run, bin: 0, threads: 1 })).status).toBe("done");
  });

  it("refuses a bin the run does not have, and a run with no plan", async () => {
    const run = newRun();
    await planRun(run, cache, { bins: 2, normalization: "normalized" });
    await expect(runBin({ run, bin: 2, threads: 1 })).rejects.toThrow(InputError);
    await expect(runBin({ run, bin: 2, threads: 1 })).rejects.toThrow(/bin 2 does not exist: the run has 2 bins/);
    await expect(runBin({ run: newRun(), bin: 0, threads: 1 })).rejects.toThrow(/no run manifest here/);
    // Forward/reverse scores of a one-direction run cannot even be planned (see test/plan).
    await expect(planRun(newRun(), cache, { bins: 2, normalization: "normalized", keepForwardReverse: true })).rejects.toThrow(
      /--keep-forward-reverse needs a symmetric mode/,
    );
  });

  it("stops at once when aborted mid-bin, leaving no shard and no marker", async () => {
    const run = newRun();
    await planRun(run, cache, { bins: 1, normalization: "mean" });
    const controller = new AbortController();
    await expect(
      runBin({
        run,
        bin: 0,
        threads: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === "scoring") controller.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(await run.list("")).toEqual(["manifest.json"]);
    expect((await runBin({ run, bin: 0, threads: 2 })).status).toBe("done");
  });
});
