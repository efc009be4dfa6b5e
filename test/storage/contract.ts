/**
 * The behaviour every Storage backend must share. local.test.ts and s3.test.ts run it,
 * each handing over a factory for fresh, empty roots.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { NotFoundError } from "../../src/storage/types.ts";
import type { Storage } from "../../src/storage/types.ts";

export interface ContractOptions {
  /** A fresh, empty root for one test. */
  fresh(): Promise<Storage>;
  /** How many keys the long-listing test writes (> 1000 crosses an S3 page). */
  manyKeys: number;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const MiB = 1024 * 1024;

/** Runs fn over items with at most `limit` in flight. */
export async function inBatches<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export function storageContract(name: string, opts: ContractOptions): void {
  describe(`Storage contract: ${name}`, () => {
    let scratch: string;
    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), "nbf-contract-"));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    it("round-trips binary data and strings, and put replaces", async () => {
      const s = await opts.fresh();
      const all = new Uint8Array(256).map((_, i) => i);
      await s.put("bin/all-bytes", all);
      expect(await s.get("bin/all-bytes")).toEqual(all);

      // A view into a larger buffer: only the view's bytes may be written.
      const backing = new Uint8Array(100).fill(7);
      backing.set([1, 2, 3], 40);
      await s.put("bin/view", backing.subarray(40, 43));
      expect(Array.from(await s.get("bin/view"))).toEqual([1, 2, 3]);

      const str = "héllo ✓ 𝄞\nline 2";
      await s.put("str.txt", str);
      expect(text(await s.get("str.txt"))).toBe(str);
      expect(await s.size("str.txt")).toBe(Buffer.byteLength(str));

      await s.put("str.txt", "replaced");
      expect(text(await s.get("str.txt"))).toBe("replaced");

      await s.put("empty", new Uint8Array(0));
      expect((await s.get("empty")).byteLength).toBe(0);
      expect(await s.size("empty")).toBe(0);
    });

    it("throws NotFoundError naming the key for absent objects", async () => {
      const s = await opts.fresh();
      const err = await s.get("no/such.key").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).uri).toContain("no/such.key");
      expect((err as Error).message).toContain(s.uri);
      await expect(s.getRange("no/such.key", 0, 4)).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.getRange("no/such.key", 0, 0)).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.size("no/such.key")).toBeUndefined();
      // A "folder" holding other keys is not itself an object.
      await s.put("dir/inner", "x");
      await expect(s.get("dir")).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.size("dir")).toBeUndefined();
    });

    it("reads byte ranges, truncated at the end of the object", async () => {
      const s = await opts.fresh();
      const data = randomBytes(10_000);
      await s.put("r.bin", data);
      expect(Buffer.from(await s.getRange("r.bin", 0, 10))).toEqual(data.subarray(0, 10));
      expect(Buffer.from(await s.getRange("r.bin", 1234, 4321))).toEqual(data.subarray(1234, 1234 + 4321));
      expect(Buffer.from(await s.getRange("r.bin", 9_990, 100))).toEqual(data.subarray(9_990));
      expect((await s.getRange("r.bin", 10_000, 10)).byteLength).toBe(0);
      expect((await s.getRange("r.bin", 50_000, 10)).byteLength).toBe(0);
      expect((await s.getRange("r.bin", 5, 0)).byteLength).toBe(0);
      await expect(s.getRange("r.bin", -1, 5)).rejects.toBeInstanceOf(RangeError);
      await expect(s.getRange("r.bin", 1.5, 5)).rejects.toBeInstanceOf(RangeError);
    });

    it("lists keys under a prefix, sorted, prefix matched as a string", async () => {
      const s = await opts.fresh();
      const keys = [
        "shards/bin=2.parquet",
        "b/d/e.txt",
        "a.txt",
        "shards/bin=10.parquet",
        "bb.txt",
        "b/c.txt",
        "shards/bin=1.parquet",
        "b/Z.txt",
        "ü.txt",
      ];
      await Promise.all(keys.map((k) => s.put(k, k)));
      // UTF-8 byte order, as S3 lists: capitals before lower case, 'ü' after ASCII.
      expect(await s.list("")).toEqual([
        "a.txt",
        "b/Z.txt",
        "b/c.txt",
        "b/d/e.txt",
        "bb.txt",
        "shards/bin=1.parquet",
        "shards/bin=10.parquet",
        "shards/bin=2.parquet",
        "ü.txt",
      ]);
      expect(await s.list("b")).toEqual(["b/Z.txt", "b/c.txt", "b/d/e.txt", "bb.txt"]);
      expect(await s.list("b/")).toEqual(["b/Z.txt", "b/c.txt", "b/d/e.txt"]);
      expect(await s.list("b/d")).toEqual(["b/d/e.txt"]);
      expect(await s.list("shards/bin=1")).toEqual(["shards/bin=1.parquet", "shards/bin=10.parquet"]);
      expect(await s.list("nothing/")).toEqual([]);
      expect(await s.list("a.txt/")).toEqual([]);
      expect(await s.list("zzz")).toEqual([]);
    });

    it(`lists many keys (${opts.manyKeys}) completely and in order`, async () => {
      const s = await opts.fresh();
      const keys = Array.from({ length: opts.manyKeys }, (_, i) => `many/k${String(i).padStart(5, "0")}`);
      await inBatches(keys, 16, (k) => s.put(k, ""));
      await s.put("other", "");
      expect(await s.list("many/")).toEqual(keys);
      expect((await s.list("")).length).toBe(keys.length + 1);
    });

    it("putIfAbsent writes once and never replaces", async () => {
      const s = await opts.fresh();
      expect(await s.putIfAbsent("once", "first")).toBe(true);
      expect(await s.putIfAbsent("once", "second")).toBe(false);
      expect(text(await s.get("once"))).toBe("first");
      await s.put("once", "replaced by put");
      expect(await s.putIfAbsent("once", "third")).toBe(false);
      expect(text(await s.get("once"))).toBe("replaced by put");
      expect(await s.list("")).toEqual(["once"]);
    });

    it("putIfAbsent from concurrent writers: exactly one wins, and its data stays", async () => {
      const s = await opts.fresh();
      for (let round = 0; round < 3; round++) {
        const key = `claim/${round}`;
        const values = Array.from({ length: 8 }, (_, i) => `writer ${i} `.repeat(1000 * (i + 1)));
        const results = await Promise.all(values.map((v) => s.putIfAbsent(key, v)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(text(await s.get(key))).toBe(values[results.indexOf(true)]);
      }
      expect(await s.list("")).toEqual(["claim/0", "claim/1", "claim/2"]);
    });

    it("deletes, and deleting an absent key is fine", async () => {
      const s = await opts.fresh();
      await s.put("d/x", "x");
      await s.put("d/y", "y");
      await s.delete("d/x");
      await expect(s.get("d/x")).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.size("d/x")).toBeUndefined();
      expect(await s.list("")).toEqual(["d/y"]);
      await s.delete("d/x");
      await s.delete("never/was");
      expect(await s.putIfAbsent("d/x", "again")).toBe(true);
    });

    it("child() roots a view at a sub-prefix", async () => {
      const s = await opts.fresh();
      const c = s.child("sub/dir");
      expect(c.uri).toBe(`${s.uri}/sub/dir`);
      expect(s.child("sub/dir/").uri).toBe(c.uri);
      expect(s.child("").uri).toBe(s.uri);
      await c.put("k.txt", "in child");
      await s.put("sub/direct.txt", "beside");
      await s.put("sub/dirty.txt", "prefix-alike, not inside");
      expect(text(await s.get("sub/dir/k.txt"))).toBe("in child");
      expect(await c.list("")).toEqual(["k.txt"]);
      expect(await s.child("sub").list("")).toEqual(["dir/k.txt", "direct.txt", "dirty.txt"]);
      expect(await s.child("sub").child("dir").list("")).toEqual(["k.txt"]);
      const err = await c.get("missing").catch((e: unknown) => e);
      expect((err as NotFoundError).uri).toContain("sub/dir/missing");
      expect(() => s.child("../escape")).toThrow(InputError);
    });

    it("rejects keys that are not relative '/'-separated paths", async () => {
      const s = await opts.fresh();
      for (const bad of ["", "/abs", "a//b", "a/", "../up", "a/../b", "./a", "a\\b", "nul\0"]) {
        await expect(s.put(bad, "x"), JSON.stringify(bad)).rejects.toBeInstanceOf(InputError);
        await expect(s.get(bad), JSON.stringify(bad)).rejects.toBeInstanceOf(InputError);
      }
      await expect(s.list("/abs")).rejects.toBeInstanceOf(InputError);
      await expect(s.list("../")).rejects.toBeInstanceOf(InputError);
      const err = await s.put("a//b", "x").catch((e: unknown) => e);
      expect((err as Error).message).toContain(s.uri);
      expect((err as Error).message).toContain('"a//b"');
    });

    it("putFile / getFile move an ~11 MiB file intact (multipart on S3)", async () => {
      const s = await opts.fresh();
      const data = randomBytes(11 * MiB + 12_345);
      const src = join(scratch, "big.bin");
      await writeFile(src, data);
      await s.putFile("files/big.bin", src);
      expect(await s.size("files/big.bin")).toBe(data.byteLength);
      expect(Buffer.from(await s.getRange("files/big.bin", 6 * MiB - 10, 20))).toEqual(
        data.subarray(6 * MiB - 10, 6 * MiB + 10),
      );
      const dest = join(scratch, "deep", "new", "folder", "copy.bin");
      await s.getFile("files/big.bin", dest);
      expect((await readFile(dest)).equals(data)).toBe(true);
      expect(await readdir(join(scratch, "deep", "new", "folder"))).toEqual(["copy.bin"]);

      // Small files go the single-request way; getFile replaces an existing file.
      const small = join(scratch, "small.txt");
      await writeFile(small, "small file");
      await s.putFile("files/small.txt", small);
      await s.getFile("files/small.txt", dest);
      expect(await readFile(dest, "utf8")).toBe("small file");
      expect(await s.list("files/")).toEqual(["files/big.bin", "files/small.txt"]);
    });

    it("getFile of an absent key leaves the destination alone", async () => {
      const s = await opts.fresh();
      const folder = join(scratch, "keep");
      await mkdir(folder, { recursive: true });
      const dest = join(folder, "existing.txt");
      await writeFile(dest, "old content");
      await expect(s.getFile("absent", dest)).rejects.toBeInstanceOf(NotFoundError);
      expect(await readFile(dest, "utf8")).toBe("old content");
      expect(await readdir(folder)).toEqual(["existing.txt"]);
    });
  });
}
