import { cp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CacheIntegrityError, buildCache, openCache, verifyCache } from "../../src/cache/index.ts";
import { collectInputs } from "../../src/inputs/index.ts";
import { InputError } from "../../src/nblast/errors.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FCTRACES, tempDir } from "./helpers.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
let good: string;
let n = 0;

beforeAll(async () => {
  work = await tempDir("corrupt");
  good = join(work.path, "good");
  const sources = (await collectInputs([FCTRACES])).slice(0, 3);
  await buildCache({
    inputs: sources,
    out: new LocalStorage(good),
    params: { scale: 1, simplify: undefined, resample: 1, k: 5 },
    precision: "float64",
    threads: 1,
  });
});

afterAll(() => work?.cleanup());

/** A fresh copy of the good cache, damaged by `damage`. */
async function damaged(damage: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(work.path, `bad-${n++}`);
  await cp(good, dir, { recursive: true });
  await damage(dir);
  return dir;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return (err as Error).message;
}

async function editJson(path: string, edit: (j: Record<string, unknown>) => void): Promise<void> {
  const j = JSON.parse(await readFile(path, "utf8"));
  edit(j);
  await writeFile(path, JSON.stringify(j));
}

describe("a damaged cache is refused with a message naming it and what is wrong", () => {
  it("the good one opens and verifies", async () => {
    const reader = await openCache(new LocalStorage(good));
    expect(reader.count).toBe(3);
    await verifyCache(new LocalStorage(good));
  });

  it("no cache.json: an unfinished build", async () => {
    const dir = await damaged((d) => rm(join(d, "cache.json")));
    const msg = await refusal(openCache(new LocalStorage(dir)));
    expect(msg).toContain(dir);
    expect(msg).toMatch(/no cache\.json/);
  });

  it("truncated dotprops.bin", async () => {
    const dir = await damaged(async (d) => {
      const size = (await readFile(join(d, "dotprops.bin"))).length;
      await truncate(join(d, "dotprops.bin"), size - 8);
    });
    const msg = await refusal(openCache(new LocalStorage(dir)));
    expect(msg).toContain(dir);
    expect(msg).toMatch(/dotprops\.bin has \d+ bytes, cache\.json says \d+ \(truncated/);
  });

  it("truncated index.bin", async () => {
    const dir = await damaged((d) => truncate(join(d, "index.bin"), 100));
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/index\.bin has 100 bytes/);
  });

  it("any changed byte of index.bin: its sha256 in cache.json is checked on every open", async () => {
    const dir = await damaged(async (d) => {
      const b = await readFile(join(d, "index.bin"));
      b[200] ^= 4; // inside the first record
      await writeFile(join(d, "index.bin"), b);
    });
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/index\.bin is damaged \(sha256 [0-9a-f]{64}, cache\.json says [0-9a-f]{64}\); rebuild the cache/);
  });

  it("bad magic, with cache.json's index checksum made to agree", async () => {
    const dir = await damaged(async (d) => {
      const b = await readFile(join(d, "index.bin"));
      b[0] = 0x58;
      await writeFile(join(d, "index.bin"), b);
      const sha = createHash("sha256").update(b).digest("hex");
      await editJson(join(d, "cache.json"), (j) => ((j.files as Record<string, { sha256: string }>)["index.bin"].sha256 = sha));
    });
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/index\.bin is not a dotprops cache index \(bad magic\)/);
  });

  it("another format version", async () => {
    const dir = await damaged((d) => editJson(join(d, "cache.json"), (j) => (j.version = 3)));
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/cache format version 3; this program reads version 2 \(rebuild it with this version/);
  });

  it("a version 1 cache (ids as doubles, no per-neuron checksums) is refused with how to rebuild it", async () => {
    const v1 = fileURLToPath(new URL("../fixtures/format-v1/cache", import.meta.url));
    const msg = await refusal(openCache(new LocalStorage(v1)));
    expect(msg).toContain(v1);
    expect(msg).toMatch(/cache format version 1 was written by an older nblast-fanout: its ids stop at 2\^53 and its reads cannot be verified/);
    expect(msg).toMatch(/rebuild it with this version: `nblast-fanout cache build --input YOUR_INPUTS --out /);
  });

  it("another format", async () => {
    const dir = await damaged((d) => writeFile(join(d, "cache.json"), '{"format":"something-else"}'));
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/format is "something-else"/);
  });

  it("cache.json not JSON", async () => {
    const dir = await damaged((d) => writeFile(join(d, "cache.json"), "{"));
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/cache\.json is not valid JSON/);
  });

  it("params in cache.json edited to disagree with the index", async () => {
    const dir = await damaged((d) => editJson(join(d, "cache.json"), (j) => ((j.params as { k: number }).k = 6)));
    expect(await refusal(openCache(new LocalStorage(dir)))).toMatch(/index\.bin does not match cache\.json/);
  });

  it("one changed byte in a neuron's data: opens, but every read of that neuron fails naming it, and verify names it", async () => {
    const reader0 = await openCache(new LocalStorage(good));
    const { offsets, ids, names } = reader0.neurons;
    const dir = await damaged(async (d) => {
      const b = await readFile(join(d, "dotprops.bin"));
      b[offsets[1] + 100] ^= 1; // inside neuron 1's points
      await writeFile(join(d, "dotprops.bin"), b);
    });
    const reader = await openCache(new LocalStorage(dir));
    await reader.readRange(0, 1);
    await reader.readRange(2, 3);
    const err = await reader.readRange(0, 3).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(CacheIntegrityError);
    expect((err as CacheIntegrityError).neuronId).toBe(ids[1]);
    expect((err as Error).message).toContain(`cache ${dir} is damaged: neuron ${ids[1]} (${names[1]}) does not match its checksum`);
    expect((err as Error).message).toMatch(/cache info --verify .*cache build/);
    expect(await refusal(reader.read(ids[1]))).toContain(`neuron ${ids[1]} (${names[1]})`);
    // Unchecked reads still work (for tools that check otherwise).
    expect((await reader.readRange(1, 2, { verify: false })).length).toBe(1);
    const msg = await refusal(verifyCache(new LocalStorage(dir)));
    expect(msg).toContain(dir);
    expect(msg).toMatch(new RegExp(`checksum mismatch: .*damaged neuron\\(s\\): ${ids[1]} \\(${names[1]}\\)`));
  });

  it("data truncated under an open reader: the read is refused", async () => {
    const dir = await damaged(async () => undefined);
    const reader = await openCache(new LocalStorage(dir));
    await truncate(join(dir, "dotprops.bin"), reader.neurons.offsets[2] + 16);
    expect(await refusal(reader.readRange(0, 3))).toMatch(/dotprops\.bin is truncated/);
  });
});
