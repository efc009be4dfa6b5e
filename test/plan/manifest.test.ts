import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { planBins } from "../../src/plan/bins.ts";
import {
  buildManifest,
  checkCache,
  manifestIds,
  manifestScoreMatrix,
  manifestStoragePolicy,
  parseManifest,
  readManifest,
  serializeManifest,
  writeManifest,
  type ManifestInputs,
} from "../../src/plan/manifest.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { Normalization } from "../../src/plan/types.ts";
import { binWork, forEachPair } from "../../src/plan/work.ts";
import { generateFragmentSet } from "../../src/synth/fragments.ts";
import { LocalStorage } from "../../src/storage/local.ts";

// A small score matrix whose numbers need full precision (and an infinite last break).
const smat = {
  name: "test-smat",
  distBreaks: new Float64Array([0, 0.75, 1.5, Infinity]),
  dotBreaks: new Float64Array([0, 0.1, 0.30000000000000004, 1]),
  values: new Float64Array([
    9.500096818, -0.1 - 0.2, 1 / 3, 1e-300, -2.5e-17, 0.1 + 0.2, -1234.5678901234567, 2 ** -40, Math.PI,
  ]),
};

function inputs(
  opts: { n?: number; bins?: number; normalization?: Normalization; keepSelf?: boolean; seed?: number } = {},
): ManifestInputs {
  const normalization = opts.normalization ?? "mean";
  const keepSelf = opts.keepSelf ?? false;
  const neurons = generateFragmentSet(opts.n ?? 60, opts.seed ?? 5);
  const selection = selectNeurons(neurons, { minLength: 12 });
  const work = planBins(selection, { bins: opts.bins ?? 9, normalization, keepSelf });
  return {
    tool: { version: "0.1.0" },
    cache: { uri: "s3://bucket/caches/fafb", checksum: "sha256:abc123", params: { scale: 0.001, simplify: undefined, resample: 1, k: 5 } },
    selection: { minLength: 12 },
    scoring: { normalization, useAlpha: false, smat },
    storage: { minScore: 0, topN: 50, keepSelf, keepForwardReverse: false },
    balance: "cost",
    work,
  };
}

describe("buildManifest's checks", () => {
  it("refuses to keep forward and reverse scores of a run that scores one direction only", () => {
    for (const normalization of ["raw", "normalized"] as const) {
      const base = inputs({ normalization });
      expect(() => buildManifest({ ...base, storage: { ...base.storage, keepForwardReverse: true } })).toThrow(
        /--keep-forward-reverse needs a symmetric mode/,
      );
    }
    const sym = inputs({ normalization: "min" });
    expect(buildManifest({ ...sym, storage: { ...sym.storage, keepForwardReverse: true } }).storage.keepForwardReverse).toBe(true);
  });
});

describe("run manifest", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "plan-manifest-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is byte-identical for the same inputs", () => {
    const a = serializeManifest(buildManifest(inputs()));
    const b = serializeManifest(buildManifest(inputs()));
    expect(b).toBe(a);
    expect(a).not.toMatch(/"at"|created/); // no clock is read
    expect(a.startsWith('{\n  "format": "nblast-fanout/run-manifest",\n  "version": 2,\n  "digest": "sha256:')).toBe(true);
    expect(serializeManifest(buildManifest(inputs({ seed: 6 })))).not.toBe(a);
  });

  it("round-trips through zod with every number exact", () => {
    const m = buildManifest(inputs({ keepSelf: true }));
    const back = parseManifest(serializeManifest(m), "manifest.json");
    expect(back).toEqual(JSON.parse(JSON.stringify(m)));
    const s = manifestScoreMatrix(back);
    expect(s.name).toBe("test-smat");
    expect(s.distBreaks).toEqual(smat.distBreaks);
    expect(s.dotBreaks).toEqual(smat.dotBreaks);
    expect(Array.from(s.values)).toEqual(Array.from(smat.values)); // Object.is per element: bit-exact
    expect(manifestStoragePolicy(back)).toEqual({ minScore: 0, topN: 50, keepSelf: true, keepForwardReverse: false });
    expect(back.cache.params).toEqual({ scale: 0.001, simplify: null, resample: 1, k: 5 });
  });

  it("records creation info only when passed in", () => {
    const m = buildManifest({ ...inputs(), created: { at: "2025-01-01T00:00:00Z", command: ["plan", "--bins", "9"] } });
    const text = serializeManifest(m);
    expect(parseManifest(text, "m.json").created).toEqual({ at: "2025-01-01T00:00:00Z", command: ["plan", "--bins", "9"] });
  });

  it("writes once; an identical rerun is fine, a different plan is refused", async () => {
    const storage = new LocalStorage(join(dir, "run-a"));
    const m = buildManifest(inputs());
    expect(await writeManifest(storage, m)).toBe("written");
    expect(await writeManifest(storage, buildManifest(inputs()))).toBe("unchanged");
    await expect(writeManifest(storage, buildManifest(inputs({ bins: 10 })))).rejects.toThrow(
      /already has a different plan .*choose a new --out/,
    );
    const back = await readManifest(storage);
    expect(back.digest).toBe(m.digest);
    expect(await readFile(join(dir, "run-a", "manifest.json"), "utf8")).toBe(serializeManifest(m));
  });

  it("says clearly when there is no manifest", async () => {
    await expect(readManifest(new LocalStorage(join(dir, "nothing")))).rejects.toThrow(/manifest.json: no run manifest here/);
  });

  it("refuses a tampered manifest, naming the field", () => {
    const text = serializeManifest(buildManifest(inputs()));
    const err = (t: string): string => {
      try {
        parseManifest(t, "run/manifest.json");
      } catch (e) {
        expect(e).toBeInstanceOf(InputError);
        return (e as Error).message;
      }
      throw new Error("expected the manifest to be refused");
    };
    const edit = (f: (m: Record<string, any>) => void): string => {
      const m = JSON.parse(text);
      f(m);
      return JSON.stringify(m, null, 2);
    };
    expect(err("{ not json")).toMatch(/^run\/manifest.json: not valid JSON/);
    expect(err(edit((m) => (m.format = "something-else")))).toMatch(/not an nblast-fanout run manifest/);
    expect(err(edit((m) => (m.version = 3)))).toMatch(/manifest version 3 is not one this tool reads/);
    expect(err(edit((m) => (m.version = 1)))).toMatch(/manifest version 1 was written by an older nblast-fanout .*Plan the run again into a new folder/);
    expect(err(edit((m) => (m.work.queries[0] = Number(m.work.queries[0]))))).toMatch(/work\.queries\[0\]: .*expected string/);
    expect(err(edit((m) => (m.work.queries[0] = "9223372036854775808")))).toMatch(/work\.queries\[0\]: id above 2\^63 - 1/);
    expect(err(edit((m) => (m.work.queries[0] = "007")))).toMatch(/work\.queries\[0\]: expected an id as a decimal string/);
    expect(err(edit((m) => (m.work.bins[3].blocks[0].rows[1] = -4)))).toMatch(/work\.bins\[3\]\.blocks\[0\]\.rows\[1\]/);
    expect(err(edit((m) => (m.scoring.normalization = "average")))).toMatch(/scoring\.normalization/);
    expect(err(edit((m) => delete m.storage.topN))).toMatch(/storage\.topN/);
    expect(err(edit((m) => (m.cache.extra = 1)))).toMatch(/cache.*extra/);
    // valid shape, changed content: caught by the digest
    expect(text).toContain('"topN": 50');
    expect(err(text.replace('"topN": 50', '"topN": 51'))).toMatch(/modified after planning/);
    const m = JSON.parse(text);
    const last = m.work.bins.length - 1;
    expect(err(text.replace(`"cost":${m.work.bins[last].cost},`, `"cost":${m.work.bins[last].cost + 1},`))).toMatch(
      /modified after planning/,
    );
  });

  it("keeps ids past 2^53 exact: decimal strings in the JSON, int64 columns in the bins' work", () => {
    const ids = [3n, 9007199254740993n, 720575940621039145n, 9223372036854775807n];
    const selection = selectNeurons(ids.map((id, i) => ({ id, points: 10 + i, cable: 20 })));
    const work = planBins(selection, { bins: 2, normalization: "normalized", keepSelf: false });
    const m = buildManifest({ ...inputs(), selection: {}, scoring: { normalization: "normalized", useAlpha: false, smat }, work });
    const text = serializeManifest(m);
    expect(text).toContain('"queries": ["3","9007199254740993","720575940621039145","9223372036854775807"]');
    expect(text).not.toMatch(/9007199254740992|720575940621039100|9223372036854776000/); // no double rounding anywhere
    const back = parseManifest(text, "m.json");
    expect([...manifestIds(back).queries]).toEqual(ids);
    const met = new Set<bigint>();
    for (let b = 0; b < 2; b++) forEachPair(binWork(back, b), (q, t) => met.add(q).add(t));
    expect([...met].sort((x, y) => (x < y ? -1 : 1))).toEqual(ids);
  });

  it("refuses a version 1 manifest (ids as JSON numbers) with how to plan again", async () => {
    const v1 = await readFile(new URL("../fixtures/format-v1/run/manifest.json", import.meta.url), "utf8");
    expect(() => parseManifest(v1, "old/manifest.json")).toThrow(
      /^old\/manifest\.json: manifest version 1 was written by an older nblast-fanout \(ids as JSON numbers, exact only to 2\^53\); this tool reads version 2\. Plan the run again/,
    );
  });

  it("refuses a changed cache", () => {
    const m = buildManifest(inputs());
    expect(() => checkCache(m, "sha256:abc123")).not.toThrow();
    expect(() => checkCache(m, "sha256:def456")).toThrow(
      /cache at s3:\/\/bucket\/caches\/fafb has changed since this run was planned \(checksum sha256:def456, the plan was made for sha256:abc123\)/,
    );
  });

  it("gives each bin its exact work, and the bins together cover the run once", () => {
    for (const normalization of ["raw", "normalized", "mean"] as Normalization[]) {
      const m = parseManifest(serializeManifest(buildManifest(inputs({ normalization, n: 40 }))), "m.json");
      const seen = new Map<string, number>();
      for (let b = 0; b < m.work.bins.length; b++) {
        const w = binWork(m, b);
        const met = new Set<bigint>();
        forEachPair(w, (q, t) => {
          const key = normalization === "mean" ? (q < t ? `${q}-${t}` : `${t}-${q}`) : `${q}>${t}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
          met.add(q).add(t);
        });
        // the bin reads exactly the neurons its pairs meet
        expect([...w.neurons]).toEqual([...met].sort((x, y) => (x < y ? -1 : 1)));
        if (normalization === "raw") expect([...w.selfScores]).toEqual([]);
        if (normalization === "mean") expect(w.selfScores).toEqual(w.neurons);
      }
      const n = m.work.queries.length;
      expect(seen.size).toBe(normalization === "mean" ? (n * (n - 1)) / 2 : n * (n - 1));
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }
    const m = buildManifest(inputs());
    expect(() => binWork(m, 9)).toThrow(/bin 9 does not exist: the run has 9 bins, numbered 0 to 8/);
  });

  it("stays consistent with itself (a planner bug would be caught before writing)", () => {
    const good = inputs();
    const broken = { ...good, work: { ...good.work, bins: good.work.bins.slice(1) } };
    expect(() => buildManifest(broken)).toThrow(/work\.bins: cover \d+ pairs, the run has \d+/);
  });
});
