import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectInputs } from "../../src/inputs/index.ts";
import type { NeuronSource } from "../../src/inputs/index.ts";
import { InputError } from "../../src/nblast/errors.ts";

const FC = fileURLToPath(new URL("../../samples/fctraces20/", import.meta.url));
const KCS = fileURLToPath(new URL("../fixtures/reference/kcs20/", import.meta.url));
const SWC = "1 1 0 0 0 0 -1\n2 1 0 0 3 0 1\n";
const CATMAID = JSON.stringify([[[1, null, 0, 0, 0, 0, 0, 5], [2, 1, 0, 0, 0, 3000, 0, 5]], [], {}]);

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nblast-collect-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh folder under root with the given files. */
async function folder(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    await mkdir(join(dir, f, ".."), { recursive: true });
    await writeFile(join(dir, f), text);
  }
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<InputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

const brief = (s: NeuronSource[]): string[] => s.map((x) => `${x.id} ${x.name} ${x.kind}`);

describe("collectInputs", () => {
  it("takes a folder's neurons, skips its other CSVs, and numbers them by sorted name", async () => {
    const skipped: string[] = [];
    const sources = await collectInputs([FC], { onSkip: (p) => skipped.push(p) });
    expect(sources).toHaveLength(20);
    expect(skipped).toEqual([join(FC, "metadata.csv")]);
    const names = sources.map((s) => s.name);
    expect(names).toEqual([...names].sort());
    expect(sources.map((s) => s.id)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
    expect(sources[0]).toEqual({ id: 1n, name: "ChaMARCM-F000559_seg001", path: join(FC, "ChaMARCM-F000559_seg001.swc"), kind: "swc" });
  });

  it("is deterministic whatever the order of the specs", async () => {
    const dir = await folder("order", { "b.swc": SWC, "a.swc": SWC, "c.json": CATMAID });
    const one = await collectInputs([join(dir, "c.json"), join(dir, "b.swc"), join(dir, "a.swc")]);
    const two = await collectInputs([join(dir, "a.swc"), join(dir, "c.json"), join(dir, "b.swc")]);
    expect(one).toEqual(two);
    expect(brief(one)).toEqual(["1 a swc", "2 b swc", "3 c catmaid-json"]);
  });

  it("uses integer file names as ids and numbers the rest after the largest", async () => {
    const dir = await folder("ints", { "12345.json": CATMAID, "7.swc": SWC, "zeta.swc": SWC, "alpha.swc": SWC });
    expect(brief(await collectInputs([dir]))).toEqual(["7 7 swc", "12345 12345 catmaid-json", "12346 alpha swc", "12347 zeta swc"]);
  });

  it("takes ids from an id list by name or by path", async () => {
    const dir = await folder("idlist", { "a.swc": SWC, "b.swc": SWC, "c.swc": SWC, "9.swc": SWC });
    const byName = join(root, "ids-by-name.csv");
    await writeFile(byName, "id,name\n500,b\n20,a\n77,not-an-input\n");
    expect(brief(await collectInputs([dir], { idList: byName }))).toEqual(["9 9 swc", "20 a swc", "500 b swc", "501 c swc"]);
    const byPath = join(root, "ids-by-path.csv");
    await writeFile(byPath, "id,path\n41,idlist/c.swc\n");
    expect(brief(await collectInputs([dir], { idList: byPath }))).toEqual(["9 9 swc", "41 c swc", "42 a swc", "43 b swc"]);
  });

  it("reads an id,path CSV as a list of inputs, paths relative to it, with optional names", async () => {
    const dir = await folder("list", { "n/x.swc": SWC, "n/y.json": CATMAID, "z.swc": SWC });
    await writeFile(join(dir, "inputs.csv"), 'id,path,name\n30,n/x.swc,\n10,"n/y.json",catmaid-one\n20,z.swc,\n');
    expect(brief(await collectInputs([join(dir, "inputs.csv")]))).toEqual(["10 catmaid-one catmaid-json", "20 z swc", "30 x swc"]);
    const e = await rejection((async () => {
      await writeFile(join(dir, "bad.csv"), "id,path\n1,n/x.swc\nseven,z.swc\n");
      return collectInputs([join(dir, "bad.csv")]);
    })());
    expect(e.message).toBe(`${join(dir, "bad.csv")}:3: id "seven" (column id) is not a whole number in decimal digits`);
    await writeFile(join(dir, "missing.csv"), "id,path\n1,n/nope.swc\n");
    expect((await rejection(collectInputs([join(dir, "missing.csv")]))).message).toContain("missing.csv:2: no such file");
  });

  it("expands globs, sorted, and only to neuron files", async () => {
    const dir = await folder("glob", { "b.swc": SWC, "a.swc": SWC, "notes.txt": "x", "sub/c.swc": SWC });
    expect(brief(await collectInputs([join(dir, "*.swc")]))).toEqual(["1 a swc", "2 b swc"]);
    expect(brief(await collectInputs([join(dir, "**/*")]))).toEqual(["1 a swc", "2 b swc", "3 c swc"]);
    expect((await rejection(collectInputs([join(dir, "*.json")]))).message).toMatch(/^no neuron files \(\.swc, \.json, \.csv\) match .*\*\.json$/);
  });

  it("does not descend into subfolders unless recursive", async () => {
    const dir = await folder("deep", { "a.swc": SWC, "sub/b.swc": SWC });
    expect(brief(await collectInputs([dir]))).toEqual(["1 a swc"]);
    expect(brief(await collectInputs([dir], { recursive: true }))).toEqual(["1 a swc", "2 b swc"]);
  });

  it("tells dotprops CSVs from points CSVs by their header", async () => {
    const dir = await folder("csv", {});
    await copyFile(join(KCS, "dotprops/ChaMARCM-F000586_seg002.csv"), join(dir, "dp.csv"));
    await copyFile(fileURLToPath(new URL("../../samples/kcs20/ChaMARCM-F000586_seg002.csv", import.meta.url)), join(dir, "pts.csv"));
    await writeFile(join(dir, "bare.csv"), ",points.X,points.Y,points.Z,alpha,vect.1,vect.2,vect.3\n1,0,0,0,1,1,0,0\n");
    await writeFile(join(dir, "idx.csv"), "idx,X,Y,Z\n1,0,0,0\n");
    expect(brief(await collectInputs([dir]))).toEqual(["1 bare dotprops-csv", "2 dp dotprops-csv", "3 idx points-csv", "4 pts points-csv"]);
  });

  it("counts a file reached twice once", async () => {
    const dir = await folder("twice", { "a.swc": SWC, "b.swc": SWC });
    expect(await collectInputs([dir, join(dir, "a.swc"), join(dir, "*.swc")])).toHaveLength(2);
  });

  it("rejects two neurons with one name or one id", async () => {
    const one = await folder("dup1", { "same.swc": SWC });
    const two = await folder("dup2", { "same.json": CATMAID, "5.swc": SWC, "5.json": CATMAID });
    expect((await rejection(collectInputs([one, join(two, "same.json")]))).message).toBe(
      `two neurons are named same: ${join(one, "same.swc")} and ${join(two, "same.json")}`,
    );
    expect((await rejection(collectInputs([join(two, "5.swc"), join(two, "5.json")]))).message).toBe(
      `two neurons have id 5: ${join(two, "5.json")} and ${join(two, "5.swc")}`,
    );
  });

  it("rejects paths that are missing, unsupported or not neurons", async () => {
    const dir = await folder("bad", { "notes.txt": "x", "meta.csv": "Order,name\n1,a\n", "empty/README.md": "" });
    expect((await rejection(collectInputs([join(dir, "nope.swc")]))).message).toBe(`no such file or folder: ${join(dir, "nope.swc")}`);
    expect((await rejection(collectInputs([join(dir, "notes.txt")]))).message).toBe(
      `${join(dir, "notes.txt")}: unsupported file type .txt: expected .swc, .json, .csv`,
    );
    expect((await rejection(collectInputs([join(dir, "meta.csv")]))).message).toMatch(/meta\.csv:1: not a neuron CSV: header "Order,name" is neither/);
    expect((await rejection(collectInputs([join(dir, "empty")]))).message).toBe(`folder ${join(dir, "empty")} has no neuron files (.swc, .json, .csv)`);
  });

  it("takes ids past 2^53 exactly from file names, id lists, id,path lists and CATMAID exports", async () => {
    const dir = await folder("big", {
      "9007199254740993.swc": SWC,
      "720575940621039145.json": CATMAID,
      "9223372036854775807.swc": SWC,
      "named.swc": SWC,
    });
    await writeFile(join(root, "big-ids.csv"), "id,name\n720575940621039146,named\n");
    expect(brief(await collectInputs([dir], { idList: join(root, "big-ids.csv") }))).toEqual([
      "9007199254740993 9007199254740993 swc",
      "720575940621039145 720575940621039145 catmaid-json",
      "720575940621039146 named swc",
      "9223372036854775807 9223372036854775807 swc",
    ]);
    const list = join(root, "big-list.csv");
    await writeFile(list, "id,path\n9007199254740995,big/named.swc\n9007199254740994,big/9007199254740993.swc\n");
    expect(brief(await collectInputs([list]))).toEqual(["9007199254740994 9007199254740993 swc", "9007199254740995 named swc"]);
    // No room above 2^63 - 1: the lowest free ids instead.
    const full = await folder("full", { "9223372036854775807.swc": SWC, "1.swc": SWC, "other.swc": SWC, "x.swc": SWC });
    expect(brief(await collectInputs([full]))).toEqual(["1 1 swc", "2 other swc", "3 x swc", "9223372036854775807 9223372036854775807 swc"]);
  });

  it("refuses ids that are negative, above 2^63 - 1 or not integers, naming the file and field", async () => {
    const dir = await folder("toobig", { "9223372036854775808.swc": SWC });
    const f = join(dir, "9223372036854775808.swc");
    expect((await rejection(collectInputs([dir]))).message).toBe(
      `${f}: the file name 9223372036854775808 is a number above the largest id, 2^63 - 1 = 9223372036854775807; give the neuron an id with --id-list or an id,path list`,
    );
    await writeFile(join(dir, "ids.csv"), "id,path\n5,9223372036854775808.swc\n");
    expect(brief(await collectInputs([dir], { idList: join(dir, "ids.csv") }))).toEqual(["5 9223372036854775808 swc"]);
    for (const [bad, why] of [["-3", "is negative"], ["9223372036854775808", "is above the largest id"], ["1.5", "is not a whole number"], ["1e3", "is not a whole number"]]) {
      await writeFile(join(dir, "list.csv"), `id,path\n${bad},9223372036854775808.swc\n`);
      expect((await rejection(collectInputs([join(dir, "list.csv")]))).message).toBe(
        `${join(dir, "list.csv")}:2: id "${bad}" (column id) ${why}${why === "is above the largest id" ? ", 2^63 - 1 = 9223372036854775807" : why === "is negative" ? " (ids are 0 to 2^63 - 1)" : " in decimal digits"}`,
      );
      await writeFile(join(dir, "idl.csv"), `id,name\n${bad},x\n`);
      expect((await rejection(collectInputs([join(dir, "9223372036854775808.swc")], { idList: join(dir, "idl.csv") }))).message).toMatch(
        new RegExp(`^${join(dir, "idl.csv")}:2: id "${bad.replace(".", "\\.")}" \\(column id\\) ${why}`),
      );
    }
  });

  it("rejects an id list that is malformed", async () => {
    const dir = await folder("badids", { "a.swc": SWC });
    await writeFile(join(dir, "ids.csv"), "id,name\n1,a\n2,a\n");
    expect((await rejection(collectInputs([join(dir, "a.swc")], { idList: join(dir, "ids.csv") }))).message).toBe(
      `${join(dir, "ids.csv")}:3: a is listed twice (first on line 2)`,
    );
    await writeFile(join(dir, "ids2.csv"), "name,id\na,1\n");
    expect((await rejection(collectInputs([join(dir, "a.swc")], { idList: join(dir, "ids2.csv") }))).message).toContain("needs the header id,name or id,path");
  });
});
