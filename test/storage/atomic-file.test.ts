import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  copyFileAtomic,
  isTempName,
  tempPathFor,
  writeFileAtomic,
  writeFileIfAbsent,
  writeStreamAtomic,
} from "../../src/storage/atomic-file.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "nbf-atomic-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("atomic-file", () => {
  it("makes temp names next to the target that isTempName recognises", () => {
    const target = join(dir, "a", "result.parquet");
    const t1 = tempPathFor(target);
    expect(dirname(t1)).toBe(dirname(target));
    expect(isTempName(basename(t1))).toBe(true);
    expect(tempPathFor(target)).not.toBe(t1);
    expect(isTempName("result.parquet")).toBe(false);
    expect(isTempName(".hidden")).toBe(false);
    expect(basename(tempPathFor(join(dir, "x".repeat(255)))).length).toBeLessThanOrEqual(255);
  });

  it("writeFileAtomic creates parent folders and replaces whole files", async () => {
    const p = join(dir, "w", "deep", "f.txt");
    await writeFileAtomic(p, "one");
    await writeFileAtomic(p, new Uint8Array([0x74, 0x77, 0x6f]));
    expect(await readFile(p, "utf8")).toBe("two");
    expect(await readdir(dirname(p))).toEqual(["f.txt"]);
  });

  it("writeStreamAtomic that fails midway keeps the old file and removes its temp", async () => {
    const p = join(dir, "s", "f.bin");
    await writeFileAtomic(p, "old");
    async function* failing() {
      yield new Uint8Array(1024).fill(1);
      yield "some text";
      throw new Error("connection reset");
    }
    await expect(writeStreamAtomic(p, failing())).rejects.toThrow("connection reset");
    expect(await readFile(p, "utf8")).toBe("old");
    expect(await readdir(dirname(p))).toEqual(["f.bin"]);

    async function* fine() {
      yield new Uint8Array([1, 2]);
      yield "3";
    }
    await writeStreamAtomic(p, fine());
    expect(Array.from(await readFile(p))).toEqual([1, 2, 0x33]);
  });

  it("writeFileIfAbsent lets exactly one of many concurrent writers create the file", async () => {
    const p = join(dir, "claim", "c");
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => writeFileIfAbsent(p, `w${i}`)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await readFile(p, "utf8")).toBe(`w${results.indexOf(true)}`);
    expect(await readdir(dirname(p))).toEqual(["c"]);
  });

  it("copyFileAtomic copies into new folders and leaves no temp when the source is missing", async () => {
    const src = join(dir, "src.txt");
    await writeFile(src, "payload");
    const dest = join(dir, "copy", "to", "dest.txt");
    await copyFileAtomic(src, dest);
    expect(await readFile(dest, "utf8")).toBe("payload");
    await expect(copyFileAtomic(join(dir, "missing"), dest)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(dest, "utf8")).toBe("payload");
    expect(await readdir(dirname(dest))).toEqual(["dest.txt"]);
  });
});
