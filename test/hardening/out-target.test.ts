/**
 * Writes that touch only what they own: an --out that is a device, FIFO, socket, symbolic
 * link or folder is refused (exit status 2) and left as it was; `--out -` is standard output;
 * a read-only, full or pseudo file system fails at once, in words.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { missing } from "../helpers/skip.ts";
import { leftovers, MAIN, mountTmpfs, tempDir } from "./helpers.ts";

const QUERY = "samples/kcs20/GadMARCM-F000142_seg002.csv";
const score = (out: string) => runCli(["score", "--query", QUERY, "--out", out]);

let work: ReturnType<typeof tempDir>;
let run: string; // a finished run, for export
beforeAll(() => {
  work = tempDir("out-target");
  run = join(work.path, "run");
  expect(runCli(["run", "--input", "samples/kcs20", "--out", run, "--bins", "2", "--workers", "1"]).status).toBe(0);
});
afterAll(() => work.cleanup());

describe("--out that is not a regular file", () => {
  it("refuses a character device made with mknod (like /dev/null) and leaves it a device", (ctx) => {
    const dev = join(work.path, "null");
    const r = spawnSync("mknod", [dev, "c", "1", "3"], { encoding: "utf8" });
    if (r.status !== 0) {
      missing("mknod", `mknod failed (needs root): ${r.stderr.trim()}`);
      ctx.skip();
    }
    const s = score(dev);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain(`--out ${dev} is a character device`);
    expect(s.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
  });

  it("refuses a FIFO without opening it (which would block)", () => {
    const fifo = join(work.path, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const s = score(fifo);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain("is a FIFO (named pipe)");
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it("refuses a socket", async () => {
    const sock = join(work.path, "sock");
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const s = score(sock);
      expect(s.status).toBe(2);
      expect(s.stderr).toContain("is a socket");
    } finally {
      server.close();
    }
  });

  it("refuses a symbolic link and leaves the link and its target as they were", () => {
    const target = join(work.path, "target.csv");
    writeFileSync(target, "keep me\n");
    const link = join(work.path, "link.csv");
    symlinkSync(target, link);
    const s = score(link);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain("is a symbolic link");
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(target, "utf8")).toBe("keep me\n");
  });

  it("refuses a folder, for score and for export", () => {
    const folder = join(work.path, "folder");
    mkdirSync(folder);
    const s = score(folder);
    expect(s.status).toBe(2);
    expect(s.stderr).toContain("is a folder");
    const e = runCli(["export", "--run", join(work.path, "no-run"), "--out", folder]);
    expect(e.status).toBe(2);
    expect(e.stderr).toContain("is a folder");
    // A refused --out makes nothing: not even the folders it names.
    const deep = runCli(["export", "--run", join(work.path, "no-run"), "--out", join(work.path, "new", "sub", "x.csv")]);
    expect(deep.status).toBe(2);
    expect(existsSync(join(work.path, "new"))).toBe(false);
  });

  it("refuses a run --out that is a file, before any work", () => {
    const file = join(work.path, "a-file");
    writeFileSync(file, "x");
    const r = runCli(["run", "--input", "samples/kcs20", "--out", file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--out ${file} is a file, not a folder`);
    expect(readFileSync(file, "utf8")).toBe("x");
  });

  it("replaces a regular file atomically, leaving no temp file", () => {
    const file = join(work.path, "scores.csv");
    writeFileSync(file, "old\n");
    expect(score(file).status).toBe(0);
    expect(readFileSync(file, "utf8")).toMatch(/^query,target,score\n/);
    expect(leftovers(work.path)).toEqual([]);
  });
});

describe("--out -", () => {
  it("score writes the CSV to standard output", () => {
    const s = score("-");
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^query,target,score\nGadMARCM-F000142_seg002,GadMARCM-F000142_seg002,1\n$/);
  });

  it("export writes the merged CSV to standard output, the same bytes as to a file", () => {
    const e = runCli(["export", "--run", run, "--out", "-"]);
    expect(e.status).toBe(0);
    const file = join(work.path, "merged.csv");
    expect(runCli(["export", "--run", run, "--out", file]).status).toBe(0);
    expect(e.stdout).toBe(readFileSync(file, "utf8"));
    expect(e.stderr).toContain("to standard output");
  });

  it("export to a reader that stops early (| head) ends quietly with status 0", () => {
    const r = spawnSync("bash", ["-o", "pipefail", "-c", `"${process.execPath}" "${MAIN}" export --run "${run}" --out - | head -c 10 >/dev/null`], { encoding: "utf8" });
    expect(r.stderr).not.toContain("EPIPE");
    expect(r.status).toBe(0);
  });
});

describe("file systems that cannot take the write", () => {
  it("an --out under /proc fails at once naming the path (it hung before)", () => {
    const s = score("/proc/sys/nbf-test/scores.csv");
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/^nblast-fanout: cannot write into \/proc\/sys: no such file or folder \(ENOENT\); /);
    const r = runCli(["cache", "build", "--input", "samples/kcs20", "--out", "/proc/nbf-test/cache"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("cannot write into /proc: no such file or folder (ENOENT)");
  });

  it("a read-only file system: named, in words, before any work", (ctx) => {
    const ro = join(work.path, "ro");
    mkdirSync(ro);
    const m = mountTmpfs(ro, "ro,size=1m");
    if (!m.ok) return ctx.skip();
    try {
      const s = score(join(ro, "scores.csv"));
      expect(s.status).toBe(2);
      expect(s.stderr).toBe(`nblast-fanout: cannot write into ${ro}: read-only file system (EROFS); choose an --out on a writable file system (or remount ${work.path} read-write)\n`);
      const r = runCli(["run", "--input", "samples/kcs20", "--out", join(ro, "run")]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`cannot write into ${ro}: read-only file system (EROFS)`);
      expect(r.stderr).not.toContain("dotprops ["); // refused before the cache build
    } finally {
      m.unmount();
    }
  });

  it("no space left: the cache build fails naming the file, and leaves no scratch folder", (ctx) => {
    const tiny = join(work.path, "tiny");
    mkdirSync(tiny);
    const m = mountTmpfs(tiny, "size=64k");
    if (!m.ok) return ctx.skip();
    try {
      const r = runCli(["cache", "build", "--input", "samples/kcs20", "--out", join(tiny, "cache"), "--threads", "1"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`nblast-fanout: cannot write ${join(tiny, "cache")}/\\S+: no space left on the device \\(ENOSPC\\); free space`));
      expect(leftovers(tiny)).toEqual([]);
      // A full file system is found by the probe, before any work.
      const planned = join(tiny, "run");
      mkdirSync(planned);
      writeFileSync(join(planned, "manifest.json"), readFileSync(join(run, "manifest.json")));
      writeFileSync(join(tiny, "filler"), Buffer.alloc(0));
      spawnSync("dd", ["if=/dev/zero", `of=${join(tiny, "filler")}`, "bs=4k", "count=64"]);
      const s = score(join(tiny, "scores.csv"));
      expect(s.status).toBe(1);
      expect(s.stderr).toContain(`cannot write into ${tiny}: no space left on the device (ENOSPC)`);
      // The planned run on the full file system: run --resume says so before any bin.
      const r2 = runCli(["run", "--resume", planned]);
      expect(r2.status).toBe(1);
      expect(r2.stderr).toContain(`cannot write into ${planned}: no space left on the device (ENOSPC)`);
      expect(r2.stderr).not.toContain("bins computed");
    } finally {
      m.unmount();
    }
  });
});
