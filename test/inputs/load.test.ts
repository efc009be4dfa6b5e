import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectInputs, loadNeuron, loadNeuronSync, neuronFromText } from "../../src/inputs/index.ts";
import type { NeuronSource } from "../../src/inputs/index.ts";
import { parseDotpropsCsv } from "../../src/nblast/dotprops-csv.ts";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import { InputError } from "../../src/nblast/errors.ts";
import { skeletonPoints } from "../../src/nblast/prepare-points.ts";
import { resamplePoints } from "../../src/nblast/resample.ts";
import { simplifySkeleton } from "../../src/nblast/simplify.ts";
import { cableLength } from "../../src/nblast/skeleton-ops.ts";
import { parseSwc } from "../../src/nblast/swc.ts";
import type { DotpropsParams } from "../../src/nblast/types.ts";

const FC = fileURLToPath(new URL("../../samples/fctraces20/", import.meta.url));
const KCS = fileURLToPath(new URL("../fixtures/reference/kcs20/", import.meta.url));
const PARAMS: DotpropsParams = { scale: 1, simplify: undefined, resample: 1, k: 5 };
const NEURON = "DvGlutMARCM-F004097_seg001";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nblast-load-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const src = (path: string, kind: NeuronSource["kind"]): NeuronSource => ({ id: 3n, name: "n", path, kind });

describe("loadNeuron", () => {
  it("turns an SWC into dotprops of its resampled points, with its cable length", async () => {
    const path = join(FC, `${NEURON}.swc`);
    const got = await loadNeuron(src(path, "swc"), PARAMS);
    const sk = parseSwc(await readFile(path, "utf8"), path);
    const expected = computeDotprops(skeletonPoints(sk, PARAMS), 5);
    expect(got.id).toBe(3n);
    expect(got.name).toBe("n");
    expect(got.dotprops).toEqual(expected);
    expect(got.cable).toBe(cableLength(sk));
    expect(loadNeuronSync(src(path, "swc"), PARAMS)).toEqual(got);
  });

  it("simplifies before resampling but reports the whole skeleton's cable", async () => {
    const path = join(FC, `${NEURON}.swc`);
    const got = await loadNeuron(src(path, "swc"), { ...PARAMS, simplify: 2 });
    const sk = parseSwc(await readFile(path, "utf8"), path);
    expect(got.dotprops).toEqual(computeDotprops(resamplePoints(simplifySkeleton(sk, 2), 1), 5));
    expect(got.cable).toBe(cableLength(sk));
  });

  it("reads CATMAID JSON in nanometres when told to scale by 0.001", async () => {
    const path = join(FC, `${NEURON}.swc`);
    const sk = parseSwc(await readFile(path, "utf8"), path);
    const nodes = Array.from(sk.ids, (id, i) => [
      id,
      sk.parent[i] < 0 ? null : sk.ids[sk.parent[i]],
      0,
      sk.xyz[3 * i] * 1000,
      sk.xyz[3 * i + 1] * 1000,
      sk.xyz[3 * i + 2] * 1000,
      -1,
      5,
    ]);
    const json = join(root, "12345.json");
    await writeFile(json, JSON.stringify([nodes, [], {}, [], []]));
    const [s] = await collectInputs([json]);
    expect(s).toEqual({ id: 12345n, name: "12345", path: json, kind: "catmaid-json" });
    const fromNm = await loadNeuron(s, { ...PARAMS, scale: 0.001 });
    const fromUm = await loadNeuron(src(path, "swc"), PARAMS);
    expect(fromNm.dotprops.points.length).toBe(fromUm.dotprops.points.length);
    let worst = 0;
    for (let i = 0; i < fromUm.dotprops.points.length; i++) worst = Math.max(worst, Math.abs(fromNm.dotprops.points[i] - fromUm.dotprops.points[i]));
    expect(worst).toBeLessThan(1e-9);
    expect(fromNm.cable).toBeCloseTo(fromUm.cable, 9);
    // not rescaled behind the user's back
    const unscaled = await loadNeuron(s, PARAMS);
    expect(unscaled.cable).toBeCloseTo(fromUm.cable * 1000, 4);
  });

  it("uses a dotprops CSV as it is and estimates its cable as points x step", async () => {
    const path = join(KCS, "dotprops/ChaMARCM-F000586_seg002.csv");
    const text = await readFile(path, "utf8");
    const got = await loadNeuron(src(path, "dotprops-csv"), { ...PARAMS, scale: 0.001, k: 20 });
    expect(got.dotprops).toEqual(parseDotpropsCsv(text, path));
    expect(got.cable).toBe(got.dotprops.alpha.length * 1);
  });

  it("computes dotprops for a points CSV, scaled, with a nearest-neighbour cable when not resampling", () => {
    const text = "idx,X,Y,Z\n1,0,0,0\n2,1000,0,0\n3,2000,0,0\n4,4000,0,0\n5,4000,0,500\n6,4000,0,1000\n";
    const got = neuronFromText(src("p.csv", "points-csv"), text, { scale: 0.001, simplify: undefined, resample: undefined, k: 3 });
    expect(Array.from(got.dotprops.points)).toEqual([0, 0, 0, 1, 0, 0, 2, 0, 0, 4, 0, 0, 4, 0, 0.5, 4, 0, 1]);
    expect(got.dotprops.alpha.length).toBe(6);
    // nearest other point: 1, 1, 1, 0.5, 0.5, 0.5
    expect(got.cable).toBeCloseTo(4.5, 12);
  });

  it("names the file in parse errors and for files that cannot be read", async () => {
    const bad = join(root, "bad.swc");
    await writeFile(bad, "1 1 0 0 0 0 -1\n2 1 0 0 x 0 1\n");
    const err = await loadNeuron(src(bad, "swc"), PARAMS).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).message).toBe(`${bad}:2: Z coordinate 'x' is not a finite number`);
    const missing = join(root, "missing.swc");
    await expect(loadNeuron(src(missing, "swc"), PARAMS)).rejects.toThrow(`${missing}: no such file`);
    expect(() => loadNeuronSync(src(missing, "swc"), PARAMS)).toThrow(InputError);
    expect(() => neuronFromText(src("x.json", "catmaid-json"), "[[]]", PARAMS)).toThrow("x.json: no nodes");
  });
});
