/**
 * Property tests of every parser a user can feed (issue 8): random mutations of valid files
 * (bit flips, truncation, inserted junk, huge numbers, NaN text, duplicated or dropped
 * lines) either parse or fail with the project's InputError naming the file, never with
 * another exception. Each run is bounded by the test's timeout; the seed is fixed, so a
 * failure reproduces (fast-check prints the counterexample and its path).
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { collectInputs, neuronFromText, type NeuronSource } from "../../src/inputs/index.ts";
import { parseCatmaidCompactDetail } from "../../src/nblast/catmaid.ts";
import { parseDotpropsCsv, parsePointsCsv } from "../../src/nblast/dotprops-csv.ts";
import { InputError } from "../../src/nblast/errors.ts";
import { parseSmatCsv, parseSmatJson } from "../../src/nblast/smat.ts";
import { parseSwc } from "../../src/nblast/swc.ts";
import { parseIdList } from "../../src/plan/idfile.ts";
import { parseManifest } from "../../src/plan/manifest.ts";
import { runCli } from "../helpers/cli.ts";

const SEED = 20261204;
const RUNS = 300;
const FC = "samples/fctraces20";
const SWC = `${FC}/DvGlutMARCM-F003360_seg003.swc`;
const KCS = "test/fixtures/reference/kcs20";
const SMAT = "test/fixtures/reference/smat";

/** Text that parsers meet in the wild, and text that breaks naive ones. */
const JUNK = ["NaN", "nan", "Inf", "-Infinity", "1e300", "-1e300", "1e309", "1e-400", "99999999999999999999999999", "0x1F", "-0", "",
  "\u0000", "\uFEFF", "\r", "\n", "\t", ",", ",,", ";", "\"", "'", "#", "null", "[]", "{}", "]", "[", "-1", "1.5", "é", "\uD800"];

type Mutation =
  | { op: "flip"; at: number; mask: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; text: string }
  | { op: "number"; nth: number; text: string }
  | { op: "duplicate"; line: number }
  | { op: "drop"; line: number };

const at = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const junk = fc.oneof(fc.constantFrom(...JUNK), fc.string({ maxLength: 8 }), fc.integer().map(String), fc.double().map(String));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant("truncate" as const), at }),
  fc.record({ op: fc.constant("insert" as const), at, text: junk }),
  fc.record({ op: fc.constant("number" as const), nth: at, text: fc.constantFrom("1e300", "-1e300", "1e309", "NaN", "Infinity", "1e-320", "123456789012345678901234567890", "-5", "0", "2.5") }),
  fc.record({ op: fc.constant("duplicate" as const), line: at }),
  fc.record({ op: fc.constant("drop" as const), line: at }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

function applyOne(text: string, m: Mutation): string {
  switch (m.op) {
    case "flip": {
      const b = Buffer.from(text, "utf8");
      if (b.length === 0) return text;
      b[Math.floor(m.at * b.length)] ^= m.mask;
      return b.toString("utf8");
    }
    case "truncate":
      return text.slice(0, Math.floor(m.at * text.length));
    case "insert": {
      const i = Math.floor(m.at * (text.length + 1));
      return text.slice(0, i) + m.text + text.slice(i);
    }
    case "number": {
      const nums = [...text.matchAll(/-?\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi)];
      if (nums.length === 0) return text;
      const n = nums[Math.floor(m.nth * nums.length)];
      return text.slice(0, n.index) + m.text + text.slice(n.index + n[0].length);
    }
    case "duplicate":
    case "drop": {
      const lines = text.split("\n");
      const i = Math.floor(m.line * lines.length);
      if (m.op === "duplicate") lines.splice(i, 0, lines[i]);
      else lines.splice(i, 1);
      return lines.join("\n");
    }
  }
}

const mutate = (text: string, ms: Mutation[]): string => ms.reduce(applyOne, text);

/** Mutated inputs refused with an InputError, and accepted: both must occur, or the mutations test nothing. */
const outcomes = { refused: 0, accepted: 0 };

/** The property: parse returns, or throws an InputError whose message names the file. */
function parsesOrInputError(fn: () => unknown, source: string): boolean {
  try {
    fn();
    outcomes.accepted++;
  } catch (err) {
    if (!(err instanceof InputError)) throw err; // fast-check reports it with the input
    expect(err.message).toContain(source);
    outcomes.refused++;
  }
  return true;
}

async function parsesOrInputErrorAsync(fn: () => Promise<unknown>, source: string): Promise<boolean> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    expect(err.message).toContain(source);
  }
  return true;
}

const check = (text: string, parse: (mutated: string) => unknown, source: string): void => {
  // the unmutated file parses: the property is about mutations of a valid file
  parse(text);
  outcomes.refused = outcomes.accepted = 0;
  fc.assert(
    fc.property(mutations, (ms) => parsesOrInputError(() => parse(mutate(text, ms)), source)),
    { seed: SEED, numRuns: RUNS },
  );
  expect(outcomes.refused).toBeGreaterThan(RUNS / 10);
};

const PARAMS = { scale: 1, simplify: undefined, resample: 1, k: 5 };
const src = (path: string, kind: NeuronSource["kind"]): NeuronSource => ({ id: 1n, name: "n", path, kind });

describe("neuron files", () => {
  const swc = readFileSync(SWC, "utf8");

  it("SWC: parseSwc, and the whole path to dotprops (neuronFromText)", () => {
    check(swc, (t) => parseSwc(t, "m.swc"), "m.swc");
    check(swc, (t) => neuronFromText(src("m.swc", "swc"), t, PARAMS, { maxPoints: 100_000 }), "m.swc");
  }, 20_000);

  it("CATMAID compact-detail JSON", () => {
    const lines = swc.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    const nodes = lines.map((l) => {
      const [id, , x, y, z, , parent] = l.trim().split(/\s+/).map(Number);
      return [id, parent < 0 ? null : parent, 3, x * 1000, y * 1000, z * 1000, -1, 5];
    });
    const json = JSON.stringify([nodes, [[1, 2, 0, 1, 2, 3]], { soma: [nodes[0][0]] }]).replace(/\],\[/g, "],\n[");
    check(json, (t) => parseCatmaidCompactDetail(t, "m.json"), "m.json");
    check(json, (t) => neuronFromText(src("m.json", "catmaid-json"), t, { ...PARAMS, scale: 0.001 }, { maxPoints: 100_000 }), "m.json");
  }, 20_000);

  it("dotprops CSV (R's export) and points CSV", () => {
    const dotprops = readFileSync(`${KCS}/dotprops/${readFirstCsv(`${KCS}/dotprops`)}`, "utf8").split("\n").slice(0, 40).join("\n");
    check(dotprops, (t) => parseDotpropsCsv(t, "d.csv"), "d.csv");
    check(dotprops, (t) => neuronFromText(src("d.csv", "dotprops-csv"), t, PARAMS), "d.csv");
    const points = "idx,X,Y,Z\n" + Array.from({ length: 30 }, (_, i) => `${i + 1},${i * 1.5},${(i * i) % 7},${-i / 3}`).join("\n") + "\n";
    check(points, (t) => parsePointsCsv(t, "p.csv"), "p.csv");
    check(points, (t) => neuronFromText(src("p.csv", "points-csv"), t, PARAMS), "p.csv");
  }, 20_000);
});

function readFirstCsv(dir: string): string {
  return readdirSync(dir).filter((f) => f.endsWith(".csv")).sort()[0];
}

describe("score matrices", () => {
  it("smat CSV (R's write.csv layout) and JSON", () => {
    check(readFileSync(`${SMAT}/smat_fcwb.csv`, "utf8"), (t) => parseSmatCsv(t, "s.csv"), "s.csv");
    check(readFileSync(`${SMAT}/smat_fcwb.json`, "utf8"), (t) => parseSmatJson(t, "s.json"), "s.json");
  }, 20_000);
});

describe("id lists and lists of inputs", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "nbf-prop-"));
    for (const n of ["a", "b", "c"]) copyFileSync(SWC, join(dir, `${n}.swc`));
  });

  it("--query-ids / --target-ids files (parseIdList)", () => {
    const known = new Set([1n, 2n, 3n, 720575940621039145n]);
    check("# ids\n1\n2 # two\n\n720575940621039145\n3\n", (t) => parseIdList(t, "ids.txt", known), "ids.txt");
  });

  it("--id-list (id,name) and input lists (id,path,name), through collectInputs", async () => {
    const idList = "id,name\n10,a\n20,b\n720575940621039145,c\n";
    const inputList = "id,path,name\n10,a.swc,alpha\n20,b.swc,beta\n30,c.swc,\n";
    let i = 0;
    await fc.assert(
      fc.asyncProperty(mutations, fc.boolean(), async (ms, which) => {
        const file = join(dir, `list-${i++}.csv`);
        writeFileSync(file, mutate(which ? idList : inputList, ms));
        return parsesOrInputErrorAsync(
          () => (which ? collectInputs([join(dir, "a.swc"), join(dir, "b.swc"), join(dir, "c.swc")], { idList: file }) : collectInputs([file])),
          file,
        );
      }),
      { seed: SEED, numRuns: 100 },
    );
  }, 20_000);
});

describe("run manifests", () => {
  let manifest: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), "nbf-prop-run-"));
    for (const n of ["1", "2", "3"]) copyFileSync(SWC, join(dir, `${n}.swc`));
    expect(runCli(["cache", "build", "--input", join(dir, "1.swc"), join(dir, "2.swc"), join(dir, "3.swc"), "--out", join(dir, "cache"), "--threads", "1"]).status).toBe(0);
    expect(runCli(["plan", "--cache", join(dir, "cache"), "--out", join(dir, "run"), "--bins", "2"]).status).toBe(0);
    manifest = readFileSync(join(dir, "run", "manifest.json"), "utf8");
  }, 60_000);

  it("parseManifest, with the digest as found and recomputed (so the checks behind it are reached)", async () => {
    const { createHash } = await import("node:crypto");
    const ZERO = "sha256:" + "0".repeat(64);
    const redigest = (t: string): string => {
      const m = /"digest": "(sha256:[0-9a-f]{64})"/.exec(t);
      if (m === null) return t;
      const zeroed = t.replace(`"digest": "${m[1]}"`, `"digest": "${ZERO}"`);
      return zeroed.replace(`"digest": "${ZERO}"`, `"digest": "sha256:${createHash("sha256").update(zeroed).digest("hex")}"`);
    };
    expect(redigest(manifest)).toBe(manifest);
    check(manifest, (t) => parseManifest(t, "manifest.json"), "manifest.json");
    check(manifest, (t) => parseManifest(redigest(t), "manifest.json"), "manifest.json");
  }, 20_000);
});
