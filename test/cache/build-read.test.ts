import { copyFile, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCache, cacheInfo, openCache, verifyCache } from "../../src/cache/index.ts";
import type { BuildProgress, CacheReader } from "../../src/cache/index.ts";
import { collectInputs, loadNeuron } from "../../src/inputs/index.ts";
import type { LoadedNeuron, NeuronSource } from "../../src/inputs/index.ts";
import { InputError } from "../../src/nblast/errors.ts";
import type { DotpropsParams } from "../../src/nblast/types.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { FCTRACES, recording, sameBits, tempDir } from "./helpers.ts";

const PARAMS: DotpropsParams = { scale: 1, simplify: undefined, resample: 1, k: 5 };

let work: Awaited<ReturnType<typeof tempDir>>;
let sources: NeuronSource[];
let direct: Map<bigint, LoadedNeuron>;
let f64: CacheReader;
let f32: CacheReader;
const progress: BuildProgress[] = [];

beforeAll(async () => {
  work = await tempDir("rt");
  sources = await collectInputs([FCTRACES]);
  direct = new Map();
  for (const s of sources) direct.set(s.id, await loadNeuron(s, PARAMS));
  await buildCache({
    inputs: sources,
    out: new LocalStorage(join(work.path, "f64")),
    params: PARAMS,
    precision: "float64",
    threads: 2,
    onProgress: (p) => progress.push(p),
  });
  await buildCache({ inputs: sources, out: new LocalStorage(join(work.path, "f32")), params: PARAMS, precision: "float32", threads: 2 });
  f64 = await openCache(new LocalStorage(join(work.path, "f64")));
  f32 = await openCache(new LocalStorage(join(work.path, "f32")));
});

afterAll(() => work?.cleanup());

describe("round trip", () => {
  it("holds every neuron, sorted by id, with names, point counts and cable", () => {
    expect(sources.length).toBe(20);
    expect(f64.count).toBe(20);
    const ids = [...f64.neurons.ids];
    expect(ids).toEqual(sources.map((s) => s.id).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (let i = 0; i < f64.count; i++) {
      const d = direct.get(f64.neurons.ids[i])!;
      expect(f64.neurons.names[i]).toBe(d.name);
      expect(f64.neurons.points[i]).toBe(d.dotprops.alpha.length);
      expect(f64.neurons.cable[i]).toBe(d.cable);
    }
    expect(f64.totalPoints).toBe([...direct.values()].reduce((s, d) => s + d.dotprops.alpha.length, 0));
    expect(f64.params).toEqual(PARAMS);
    expect(f64.precision).toBe("float64");
    expect(f32.precision).toBe("float32");
  });

  it("float64 reads back bit-identical to directly computed dotprops", async () => {
    const all = await f64.readAll();
    expect(all).toHaveLength(20);
    for (let i = 0; i < f64.count; i++) {
      const want = direct.get(f64.neurons.ids[i])!.dotprops;
      const got = all[i];
      expect(got.points).toBeInstanceOf(Float64Array);
      expect(sameBits(got.points, Float64Array.from(want.points))).toBe(true);
      expect(sameBits(got.vect, Float64Array.from(want.vect))).toBe(true);
      expect(sameBits(got.alpha, Float64Array.from(want.alpha))).toBe(true);
    }
  });

  it("float32 reads back bit-identical to Math.fround of them, as Float32Array views", async () => {
    const all = await f32.readAll();
    for (let i = 0; i < f32.count; i++) {
      const want = direct.get(f32.neurons.ids[i])!.dotprops;
      const fround = (a: ArrayLike<number>) => Float32Array.from(Array.from(a, Math.fround));
      expect(all[i].points).toBeInstanceOf(Float32Array);
      expect(sameBits(all[i].points, fround(want.points))).toBe(true);
      expect(sameBits(all[i].vect, fround(want.vect))).toBe(true);
      expect(sameBits(all[i].alpha, fround(want.alpha))).toBe(true);
    }
  });

  it("bounding boxes hold every point", async () => {
    for (const reader of [f64, f32]) {
      const all = await reader.readAll();
      let outside = 0;
      let touching = 0;
      all.forEach((d, i) => {
        const box = reader.neurons.bbox.subarray(6 * i, 6 * i + 6);
        for (let p = 0; p < d.points.length; p += 3) {
          for (let j = 0; j < 3; j++) {
            const v = d.points[p + j];
            if (v < box[j] || v > box[3 + j]) outside++;
            if (v === box[j] || v === box[3 + j]) touching++;
          }
        }
      });
      expect(outside).toBe(0);
      // Tight: in float32 every face is a point's coordinate; in float64 most are within rounding.
      if (reader.precision === "float32") expect(touching).toBeGreaterThanOrEqual(6 * all.length);
    }
  });

  it("reports progress for every neuron, ending at the total", () => {
    expect(progress).toHaveLength(20);
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(progress.at(-1)).toMatchObject({ done: 20, total: 20, failed: 0 });
  });

  it("verifies, and describes itself", async () => {
    const v = await verifyCache(new LocalStorage(join(work.path, "f32")));
    expect(v.sha256).toBe(f32.checksum);
    const info = cacheInfo(f32);
    expect(info).toContain("version 2");
    expect(info).toContain("checksums  sha256-128 per neuron");
    expect(info).toContain("float32");
    expect(info).toContain("resample=1 k=5");
    expect(info).toContain(f32.checksum);
    expect(info).toMatch(/neurons\s+20\n/);
    expect(info).toContain("failed     none");
  });
});

describe("ranged reads", () => {
  it("reads one neuron with one ranged read of just its bytes, not the data file", async () => {
    const { storage, log } = recording(new LocalStorage(join(work.path, "f64")));
    const reader = await openCache(storage);
    expect(log.get).not.toContain("dotprops.bin");
    const dataBefore = log.ranges.filter((r) => r.key === "dotprops.bin").length;
    const i = 7;
    const id = reader.neurons.ids[i];
    const d = await reader.read(id);
    const reads = log.ranges.filter((r) => r.key === "dotprops.bin").slice(dataBefore);
    expect(reads).toHaveLength(1);
    const n = reader.neurons.points[i];
    expect(reads[0]).toEqual({ key: "dotprops.bin", offset: reader.neurons.offsets[i], length: 7 * n * 8 });
    const size = reader.manifest.files["dotprops.bin"].bytes;
    expect(reads[0].length).toBeLessThan(size / 5);
    expect(sameBits(d.alpha, Float64Array.from(direct.get(id)!.dotprops.alpha))).toBe(true);
  });

  it("reads a range of consecutive neurons with one ranged read", async () => {
    const { storage, log } = recording(new LocalStorage(join(work.path, "f32")));
    const reader = await openCache(storage);
    const before = log.ranges.length;
    const got = await reader.readRange(3, 9);
    expect(log.ranges.length - before).toBe(1);
    expect(got).toHaveLength(6);
    const all = await f32.readAll();
    for (let k = 0; k < 6; k++) expect(sameBits(got[k].vect, all[3 + k].vect)).toBe(true);
    expect(await reader.readRange(4, 4)).toEqual([]);
  });

  it("splits the cache into consecutive chunks of bounded size", () => {
    const chunks = f64.chunks(20_000);
    expect(chunks[0][0]).toBe(0);
    expect(chunks.at(-1)![1]).toBe(f64.count);
    for (let c = 0; c < chunks.length; c++) {
      const [a, b] = chunks[c];
      if (c > 0) expect(a).toBe(chunks[c - 1][1]);
      expect(b).toBeGreaterThan(a);
      if (b - a > 1) expect(f64.rangeBytes(a, b)).toBeLessThanOrEqual(20_000);
    }
    expect(chunks.length).toBeGreaterThan(5);
  });

  it("looks neurons up by id", async () => {
    const id = f64.neurons.ids[5];
    expect(f64.indexOf(id)).toBe(5);
    expect(f64.indexOf(12345n)).toBe(-1);
    await expect(f64.read(12345n)).rejects.toThrow(/no neuron with id 12345/);
    expect([...f64.positionsOf(BigInt64Array.from([f64.neurons.ids[2], f64.neurons.ids[19], 12345n]))]).toEqual([2, 19, -1]);
  });
});

describe("determinism", () => {
  it("gives identical bytes and checksum with 1 thread as with 2", async () => {
    const out = join(work.path, "f64-1thread");
    const summary = await buildCache({ inputs: sources.slice().reverse(), out: new LocalStorage(out), params: PARAMS, precision: "float64", threads: 1 });
    expect(summary.sha256).toBe(f64.checksum);
    for (const f of ["cache.json", "index.bin", "dotprops.bin", "report.json"]) {
      expect(Buffer.compare(await readFile(join(out, f)), await readFile(join(work.path, "f64", f)))).toBe(0);
    }
    // Nothing left behind but the cache itself.
    expect((await readdir(out)).sort()).toEqual(["cache.json", "dotprops.bin", "index.bin", "report.json"]);
  });

  it("keeps the params so differently built caches can be told apart", async () => {
    const out = new LocalStorage(join(work.path, "k7"));
    const params = { ...PARAMS, k: 7 };
    const few = sources.slice(0, 3);
    await buildCache({ inputs: few, out, params, precision: "float64", threads: 1 });
    const reader = await openCache(out);
    expect(reader.params).toEqual(params);
    expect(reader.checksum).not.toBe(f64.checksum);
  });

  it("refuses duplicate ids, naming both files", async () => {
    const dup = [sources[0], { ...sources[1], id: sources[0].id }];
    await expect(
      buildCache({ inputs: dup, out: new LocalStorage(join(work.path, "dup")), params: PARAMS, precision: "float64", threads: 1 }),
    ).rejects.toThrow(new RegExp(`duplicate neuron id ${sources[0].id}`));
  });
});

describe("neurons that cannot be read", () => {
  let dir: string;
  let mixed: NeuronSource[];

  beforeAll(async () => {
    dir = join(work.path, "mixed-inputs");
    const names = (await readdir(FCTRACES)).filter((f) => f.endsWith(".swc")).slice(0, 4);
    await (await import("node:fs/promises")).mkdir(dir);
    for (const f of names) await copyFile(join(FCTRACES, f), join(dir, f));
    await writeFile(join(dir, "broken.swc"), "1 0 1.0 2.0 3.0 0 -1\n2 0 not-a-number 2 3 0 1\n");
    mixed = await collectInputs([dir]);
  });

  it("keeps every good neuron and names the broken one in report.json", async () => {
    const outDir = join(work.path, "mixed");
    const summary = await buildCache({ inputs: mixed, out: new LocalStorage(outDir), params: PARAMS, precision: "float32", threads: 2 });
    expect(summary.neurons).toBe(4);
    expect(summary.failed).toHaveLength(1);
    const reader = await openCache(new LocalStorage(outDir));
    expect(reader.neurons.names).not.toContain("broken");
    expect(reader.count).toBe(4);
    const report = JSON.parse(await readFile(join(outDir, "report.json"), "utf8"));
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0].name).toBe("broken");
    expect(report.failed[0].path).toContain("broken.swc");
    expect(report.failed[0].reason).toContain("broken.swc");
    expect(report.failed[0].error).toBe("InputError");
    expect(reader.manifest.failed.count).toBe(1);
    expect(cacheInfo(reader)).toMatch(/1 neuron\(s\) could not be read[\s\S]*broken: /);
    await verifyCache(new LocalStorage(outDir));
  });

  it("strict stops at the broken one, naming it, and publishes nothing", async () => {
    const outDir = join(work.path, "strict");
    const err = await buildCache({ inputs: mixed, out: new LocalStorage(outDir), params: PARAMS, precision: "float32", threads: 2, strict: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/broken/);
    expect(await readdir(outDir)).toEqual([]);
  });
});
