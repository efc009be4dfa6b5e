import { mkdtemp, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStorage } from "../../src/storage/local.ts";
import { isTempName, tempPathFor } from "../../src/storage/atomic-file.ts";
import { storageContract } from "./contract.ts";

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "nbf-local-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

storageContract("local folder", {
  fresh: async () => new LocalStorage(join(root, `t${counter++}`)),
  manyKeys: 1005,
});

describe("LocalStorage specifics", () => {
  it("maps keys to files under the root, and its uri is the absolute root", async () => {
    const dir = join(root, "mapping");
    const s = new LocalStorage(relative(process.cwd(), dir) + "/");
    expect(s.uri).toBe(dir);
    await s.put("a/b/c.txt", "x");
    expect(await readdir(join(dir, "a", "b"))).toEqual(["c.txt"]);
  });

  it("never shows temp files in list, even strays left by a crash", async () => {
    const s = new LocalStorage(join(root, "strays"));
    await s.put("shard/x.bin", "x");
    const stray = tempPathFor(join(s.uri, "shard", "y.bin"));
    await writeFile(stray, "half written");
    expect(isTempName(relative(join(s.uri, "shard"), stray))).toBe(true);
    expect(await s.list("")).toEqual(["shard/x.bin"]);
    expect(await s.list("shard/")).toEqual(["shard/x.bin"]);
  });

  it("readers only ever see a whole old or whole new object while puts run", async () => {
    const s = new LocalStorage(join(root, "readers"));
    const size = 2 * 1024 * 1024;
    const versions = ["a", "b", "c"].map((ch) => new Uint8Array(size).fill(ch.charCodeAt(0)));
    await s.put("k", versions[0]);
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        const got = await s.get("k");
        expect(got.byteLength).toBe(size);
        // Whole: every byte equals the first one.
        expect(got.every((b) => b === got[0])).toBe(true);
        seen.add(got[0]);
        expect(await s.list("")).toEqual(["k"]);
      }
    })();
    for (let i = 0; i < 20; i++) await Promise.all([s.put("k", versions[1]), s.put("k", versions[2])]);
    writing = false;
    await reader;
    expect(seen.size).toBeGreaterThan(0);
    expect(await readdir(s.uri)).toEqual(["k"]);
  });

  it("a put that fails leaves the old content and no temp file", async () => {
    const s = new LocalStorage(join(root, "failing"));
    await s.put("a/b", "inner");
    // "a" is a folder: the final rename fails after the data was written to a temp file.
    await expect(s.put("a", "clash")).rejects.toThrow(/EISDIR|EEXIST|ENOTEMPTY|EPERM/);
    await expect(s.putIfAbsent("a", "clash")).resolves.toBe(false);
    expect(new TextDecoder().decode(await s.get("a/b"))).toBe("inner");
    expect(await readdir(s.uri)).toEqual(["a"]);
    expect(await readdir(join(s.uri, "a"))).toEqual(["b"]);
  });

  it("lists files reached through a symlink, and an absent root as empty", async () => {
    const s = new LocalStorage(join(root, "links"));
    await s.put("real.txt", "r");
    await mkdir(join(s.uri, "sub"));
    await symlink(join(s.uri, "real.txt"), join(s.uri, "sub", "alias.txt"));
    expect(await s.list("")).toEqual(["real.txt", "sub/alias.txt"]);
    expect(await new LocalStorage(join(root, "never-made")).list("")).toEqual([]);
  });
});
