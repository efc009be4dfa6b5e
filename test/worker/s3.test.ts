import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCache, openCache, type CacheReader } from "../../src/cache/index.ts";
import { collectInputs } from "../../src/inputs/index.ts";
import { listShards } from "../../src/results/shard-store.ts";
import { openStorage } from "../../src/storage/open.ts";
import type { Storage } from "../../src/storage/types.ts";
import { binStatus, runBin } from "../../src/worker/index.ts";
import { startTestFauxqs, type TestFauxqs } from "../helpers/fauxqs.ts";
import { FCTRACES, PARAMS, mergedRows, planRun, referenceRows, rowsDiff, tempDir, type RunSpec } from "./helpers.ts";

let fx: TestFauxqs;
let work: Awaited<ReturnType<typeof tempDir>>;
let cache: CacheReader;
const CACHE_URI = "s3://data/caches/fc8";

/** Cache storages the workers open, with a count of what each downloaded. */
const downloads: string[] = [];
function openCacheStorage(uri: string): Storage {
  const inner = openStorage(uri, { s3Client: fx.s3 });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === "getFile") {
        return (key: string, path: string) => {
          downloads.push(key);
          return target.getFile(key, path);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

beforeAll(async () => {
  fx = await startTestFauxqs({ buckets: ["data"] });
  work = await tempDir("s3");
  const out = openStorage(CACHE_URI, { s3Client: fx.s3 });
  await buildCache({ inputs: (await collectInputs([FCTRACES])).slice(0, 8), out, params: PARAMS, precision: "float32", threads: 1 });
  cache = await openCache(out);
});
afterAll(async () => {
  await fx?.stop();
  await work?.cleanup();
});

describe("a run in S3", () => {
  it("reads the manifest and the cache from S3, copies the cache once per host, writes shards and markers to S3", async () => {
    const run = openStorage("s3://data/runs/r1", { s3Client: fx.s3 });
    const spec: RunSpec = { bins: 2, normalization: "mean", keepForwardReverse: true };
    const m = await planRun(run, cache, spec, CACHE_URI);
    expect(m.cache.uri).toBe(CACHE_URI);
    const cacheDir = join(work.path, "host-cache");

    // two separate worker sessions on one host, as two Slurm or Batch jobs would be
    const a = await runBin({ run, bin: 0, threads: 2, cacheDir, openCacheStorage });
    const b = await runBin({ run, bin: 1, threads: 1, cacheDir, openCacheStorage });
    expect([a.status, b.status]).toEqual(["done", "done"]);
    expect(downloads.filter((k) => k === "dotprops.bin")).toEqual(["dotprops.bin"]);
    expect(await readdir(cacheDir)).toEqual([cache.checksum]);
    expect(a.marker.cache).toEqual({ uri: CACHE_URI, checksum: cache.checksum, precision: "float32" });

    expect((await listShards(run)).map((s) => s.key)).toEqual(["shards/bin=0.parquet", "shards/bin=1.parquet"]);
    expect((await binStatus(run)).counts).toEqual({ done: 2, failed: 0, pending: 0 });
    expect(rowsDiff(await mergedRows(run), await referenceRows(cache, spec))).toBeUndefined();

    // a rerun skips both bins after checking their shards in S3
    expect((await runBin({ run, bin: 1, threads: 1, cacheDir, openCacheStorage })).status).toBe("skipped");
    expect(downloads.filter((k) => k === "dotprops.bin")).toHaveLength(1);
  });
});
