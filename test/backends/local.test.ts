import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binStatus, formatLocalSummary, runLocal, type LocalProgress } from "../../src/backends/local/index.ts";
import type { CacheReader } from "../../src/cache/index.ts";
import { binWork, forEachPair } from "../../src/plan/work.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { binPairCount, doneKey, failedKey } from "../../src/worker/index.ts";
import { buildTestCache, mergedRows, planRun, referenceRows, rowsDiff, tempDir, type RunSpec } from "../worker/helpers.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
let cache: CacheReader;
let ids: bigint[];

beforeAll(async () => {
  work = await tempDir("local");
  cache = await buildTestCache(new LocalStorage(join(work.path, "cache")), 8);
  ids = Array.from(cache.neurons.ids);
});
afterAll(() => work?.cleanup());

describe("runLocal", () => {
  it("runs every bin, reports progress and a summary, and skips done bins when rerun", async () => {
    const run = new LocalStorage(join(work.path, "all"));
    const spec: RunSpec = { bins: 5, normalization: "mean", minScore: -0.5 };
    const m = await planRun(run, cache, spec);
    const totalPairs = m.work.bins.reduce((s, _, b) => s + binPairCount(binWork(m, b)), 0);
    expect(totalPairs).toBe((8 * 7) / 2);
    const seen: LocalProgress[] = [];
    const s = await runLocal({ run, threads: 2, onProgress: (p) => seen.push(p), progressMs: 1 });
    expect(s).toMatchObject({ bins: 5, done: 5, skipped: 0, failed: [], aborted: false, pairsScored: totalPairs, threads: 2 });
    const rows = await mergedRows(run);
    expect(s.rowsStored).toBe(rows.length);
    expect(rowsDiff(rows, await referenceRows(cache, spec))).toBeUndefined();
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ binsTotal: 5, binsFinished: 5, binsDone: 5, pairsScored: totalPairs, pairsToScore: totalPairs });
    expect(last.etaSeconds).toBe(0);
    expect(seen.some((p) => p.phase === "scoring" && p.bin !== undefined)).toBe(true);
    // pairs scored never go backwards
    for (let i = 1; i < seen.length; i++) expect(seen[i].pairsScored).toBeGreaterThanOrEqual(seen[i - 1].pairsScored);
    expect(formatLocalSummary(s)).toMatch(/^finished: 5 bins computed, 0 skipped .*, 0 failed, 28 pairs scored/);

    const again = await runLocal({ run, threads: 1 });
    expect(again).toMatchObject({ done: 0, skipped: 5, failed: [], pairsScored: 0, rowsStored: 0 });
  });

  it("a bin that names a neuron missing from the cache fails alone, with the bin and the neuron named", async () => {
    const run = new LocalStorage(join(work.path, "missing"));
    // Neuron 999 is planned as a query but is not in the cache: only the bin(s) holding its row need it.
    const m = await planRun(run, cache, {
      bins: 4,
      normalization: "normalized",
      extra: [{ id: 999n, points: 400, cable: 400 }],
      queryIds: [...ids, 999n],
      targetIds: ids,
    });
    const bad = m.work.bins.map((_, b) => b).filter((b) => binWork(m, b).neurons.includes(999n));
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.length).toBeLessThan(4);
    const s = await runLocal({ run, threads: 2 });
    expect(s.done).toBe(4 - bad.length);
    expect(s.failed.map((f) => f.bin)).toEqual(bad);
    for (const f of s.failed) {
      expect(f.message).toMatch(new RegExp(`^bin ${f.bin}: neuron 999 of the plan is not in the cache `));
      expect(await run.size(failedKey(f.bin))).toBeGreaterThan(0);
      expect(await run.size(doneKey(f.bin))).toBeUndefined();
    }
    expect(formatLocalSummary(s)).toContain(`\n  bin ${bad[0]}: neuron 999`);
    const status = await binStatus(run);
    expect(status.counts).toEqual({ done: 4 - bad.length, failed: bad.length, pending: 0 });
    expect(status.failed[0].message).toContain("neuron 999");

    // the good bins hold exactly their pairs' reference rows; only the failed bins' pairs are missing
    const rows = await mergedRows(run);
    const want = await referenceRows(cache, { bins: 1, normalization: "normalized" });
    const key = (q: bigint, t: bigint): string => `${q},${t}`;
    const wantByPair = new Map(Array.from(want.score, (s, i) => [key(want.queryId[i], want.targetId[i]), s]));
    const stored = new Set<string>();
    for (let i = 0; i < rows.length; i++) {
      const k = key(rows.queryId[i], rows.targetId[i]);
      expect(Object.is(wantByPair.get(k), rows.score[i]), k).toBe(true);
      stored.add(k);
    }
    const missing = new Set<string>();
    for (const b of bad) forEachPair(binWork(m, b), (q, t) => (q === 999n ? undefined : missing.add(key(q, t))));
    expect(stored.size + missing.size).toBe(want.length);
    for (const k of missing) expect(stored.has(k)).toBe(false);
  });

  it("stops on abort mid-bin: earlier bins done, that bin neither done nor failed; a rerun finishes", async () => {
    const run = new LocalStorage(join(work.path, "abort"));
    const spec: RunSpec = { bins: 4, normalization: "normalized" };
    await planRun(run, cache, spec);
    const controller = new AbortController();
    const s = await runLocal({
      run,
      threads: 2,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bin === 1 && p.phase === "scoring") controller.abort();
      },
    });
    expect(s).toMatchObject({ aborted: true, done: 1, failed: [] });
    expect(formatLocalSummary(s)).toMatch(/^interrupted: 1 bins computed/);
    expect(await run.list("")).toEqual(["done/0.json", "manifest.json", "shards/bin=0.parquet"]);
    expect((await binStatus(run)).counts).toEqual({ done: 1, failed: 0, pending: 3 });
    const rest = await runLocal({ run, threads: 2 });
    expect(rest).toMatchObject({ done: 3, skipped: 1, failed: [], aborted: false });
    expect(rowsDiff(await mergedRows(run), await referenceRows(cache, spec))).toBeUndefined();
  });
});
