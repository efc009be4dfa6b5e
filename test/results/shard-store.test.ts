import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mapLimit } from "../../src/results/map-limit.ts";
import { decodeShard, encodeShard, shardChecksum } from "../../src/results/shard.ts";
import { listShards, openStorageShard, writeShard } from "../../src/results/shard-store.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { NotFoundError } from "../../src/storage/types.ts";
import { blockRows, tuples } from "./helpers.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nbf-store-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeShard", () => {
  it("applies the policy, writes shards/bin=<bin>.parquet and returns its sha256", async () => {
    const storage = new LocalStorage(join(dir, "w"));
    const rows = blockRows([1, 2, 3], [1, 2, 3, 4], 11);
    const policy = { minScore: -0.5, topN: 2, keepSelf: false };
    const written = await writeShard(storage, 7, rows, { policy, metadata: { bin: "7" } });
    expect(written.key).toBe("shards/bin=7.parquet");
    const stored = await storage.get(written.key);
    expect(written.sha256).toBe(shardChecksum(stored));
    expect(written.bytes).toBe(stored.length);
    const back = await decodeShard(stored);
    expect(back.length).toBe(written.rows);
    expect(back.length).toBeLessThanOrEqual(6);
    expect(tuples(back).every(([q, t, s]) => q !== t && s > -0.5)).toBe(true);
    // a rerun writes the same bytes
    const again = await writeShard(storage, 7, rows, { policy, metadata: { bin: "7" } });
    expect(again.sha256).toBe(written.sha256);
  });
});

describe("listShards / openStorageShard", () => {
  it("lists only shard files, in numeric bin order", async () => {
    const storage = new LocalStorage(join(dir, "l"));
    for (const bin of [10, 2, 1]) await storage.put(`shards/bin=${bin}.parquet`, encodeShard(blockRows([bin], [1], bin)));
    await storage.put("shards/bin=3.parquet.sha256", "x");
    await storage.put("shards/sub/bin=4.parquet", "x");
    await storage.put("done/bin=1.json", "{}");
    expect((await listShards(storage)).map((s) => s.key)).toEqual([
      "shards/bin=1.parquet", "shards/bin=2.parquet", "shards/bin=10.parquet",
    ]);
    const shard = await openStorageShard(storage, "shards/bin=10.parquet");
    expect(shard.info.numRows).toBe(1);
    expect(shard.source).toBe(`${storage.uri}/shards/bin=10.parquet`);
    await expect(openStorageShard(storage, "shards/bin=99.parquet")).rejects.toThrow(NotFoundError);
  });
});

describe("mapLimit", () => {
  it("keeps at most `limit` calls in flight and returns results in order", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (x) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, x));
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
  });

  it("rejects with the first error", async () => {
    await expect(mapLimit([1, 2, 3], 3, async (x) => {
      if (x === 2) throw new Error("boom");
      return x;
    })).rejects.toThrow("boom");
  });
});
