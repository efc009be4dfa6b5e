import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCache, localCacheCopy, openCache, verifyCache } from "../../src/cache/index.ts";
import { collectInputs } from "../../src/inputs/index.ts";
import type { NeuronSource } from "../../src/inputs/index.ts";
import { InputError } from "../../src/nblast/errors.ts";
import type { DotpropsParams } from "../../src/nblast/types.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { openStorage } from "../../src/storage/open.ts";
import type { Storage } from "../../src/storage/types.ts";
import { startTestFauxqs } from "../helpers/fauxqs.ts";
import type { TestFauxqs } from "../helpers/fauxqs.ts";
import { FCTRACES, recording, sameBits, tempDir } from "./helpers.ts";

const PARAMS: DotpropsParams = { scale: 1, simplify: undefined, resample: 1, k: 5 };

let fx: TestFauxqs;
let work: Awaited<ReturnType<typeof tempDir>>;
let sources: NeuronSource[];
let s3: Storage;
let local: Storage;

beforeAll(async () => {
  fx = await startTestFauxqs({ buckets: ["data"] });
  work = await tempDir("s3");
  sources = await collectInputs([FCTRACES]);
  s3 = openStorage("s3://data/caches/fc20", { s3Client: fx.s3 });
  local = new LocalStorage(join(work.path, "disk"));
  await buildCache({ inputs: sources, out: s3, params: PARAMS, precision: "float32", threads: 2 });
  await buildCache({ inputs: sources, out: local, params: PARAMS, precision: "float32", threads: 2 });
});

afterAll(async () => {
  await fx?.stop();
  await work?.cleanup();
});

describe("a cache on S3", () => {
  it("holds the same bytes as one built on disk", async () => {
    for (const key of ["cache.json", "index.bin", "dotprops.bin", "report.json"]) {
      expect(Buffer.compare(Buffer.from(await s3.get(key)), Buffer.from(await local.get(key)))).toBe(0);
    }
    // Only the cache: no scratch objects left under the prefix.
    expect(await s3.list("")).toEqual(["cache.json", "dotprops.bin", "index.bin", "report.json"]);
  });

  it("reads back the same dotprops as from disk, and verifies", async () => {
    const remote = await openCache(s3);
    const disk = await openCache(local);
    expect(remote.checksum).toBe(disk.checksum);
    const a = await remote.readAll();
    const b = await disk.readAll();
    expect(a).toHaveLength(20);
    for (let i = 0; i < 20; i++) {
      expect(sameBits(a[i].points, b[i].points)).toBe(true);
      expect(sameBits(a[i].vect, b[i].vect)).toBe(true);
      expect(sameBits(a[i].alpha, b[i].alpha)).toBe(true);
    }
    expect((await verifyCache(s3)).sha256).toBe(disk.checksum);
  });

  it("reads one neuron with one ranged GET of its own bytes", async () => {
    const { storage, log } = recording(s3);
    const reader = await openCache(storage);
    const before = log.ranges.length;
    const id = reader.neurons.ids[11];
    const d = await reader.read(id);
    const reads = log.ranges.slice(before);
    expect(reads).toEqual([{ key: "dotprops.bin", offset: reader.neurons.offsets[11], length: 7 * reader.neurons.points[11] * 4 }]);
    expect(d.points.length).toBe(3 * reader.neurons.points[11]);
    expect(log.get).not.toContain("dotprops.bin");
  });

  it("is copied to local disk once per checksum, then reused", async () => {
    const cacheDir = join(work.path, "host-cache");
    const { storage, log } = recording(s3);
    const copy = await localCacheCopy(storage, cacheDir, { verify: true });
    const reader = await openCache(copy);
    expect(copy.uri).toBe(join(cacheDir, reader.checksum));
    expect(await readdir(cacheDir)).toEqual([reader.checksum]);
    const gets = log.get.length;
    const again = await localCacheCopy(storage, cacheDir);
    expect(again.uri).toBe(copy.uri);
    expect(log.get.length - gets).toBe(1); // cache.json only
    const a = await reader.readAll();
    const b = await (await openCache(local)).readAll();
    for (let i = 0; i < 20; i++) expect(sameBits(a[i].vect, b[i].vect)).toBe(true);
    expect(await readFile(join(copy.uri, "cache.json"), "utf8")).toBe(new TextDecoder().decode(await s3.get("cache.json")));
  });

  it("a damaged S3 copy is refused on arrival, naming the neuron, and leaves no copy behind", async () => {
    const bad = openStorage("s3://data/caches/fc20-damaged", { s3Client: fx.s3 });
    for (const key of ["dotprops.bin", "index.bin", "report.json", "cache.json"]) {
      const bytes = new Uint8Array(await s3.get(key));
      if (key === "dotprops.bin") {
        const r = await openCache(s3);
        bytes[r.neurons.offsets[7] + 40] ^= 0x20; // in neuron 7's points
      }
      await bad.put(key, bytes);
    }
    const reader = await openCache(s3);
    const cacheDir = join(work.path, "host-cache-damaged");
    const err = await localCacheCopy(bad, cacheDir).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/checksum mismatch/);
    expect((err as Error).message).toContain(`damaged neuron(s): ${reader.neurons.ids[7]} (${reader.neurons.names[7]})`);
    expect(await readdir(cacheDir)).toEqual([]); // neither a copy nor its scratch folder
  });

  it("a local cache is used where it is", async () => {
    expect(await localCacheCopy(local, join(work.path, "unused"))).toBe(local);
  });
});
