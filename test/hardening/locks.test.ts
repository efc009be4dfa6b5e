/**
 * Locks: `cache build` and `plan` on a folder take an exclusive lock naming its holder; a
 * second is refused (exit status 2) naming it; a lock whose holder is gone is taken over;
 * a cache under a planned run is rebuilt only with --force, which invalidates its done bins.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { Lease, LEASE_FORMAT, LOCK_KEY } from "../../src/storage/lease-file.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { deadPid, leftovers, tempDir } from "./helpers.ts";

let work: ReturnType<typeof tempDir>;
let sleeper: ReturnType<typeof spawn>;
beforeAll(() => {
  work = tempDir("locks");
  // A live process that is not this one: the holder of the locks below.
  sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 120000)"], { stdio: "ignore" });
});
afterAll(() => {
  sleeper.kill("SIGKILL");
  work.cleanup();
});

function writeLock(dir: string, holder: { host: string; pid: number; renewed: string; what?: string }): void {
  mkdirSync(dir, { recursive: true });
  const h = { format: LEASE_FORMAT, what: holder.what ?? "cache build", hostTag: "00000000", started: "2026-01-01T00:00:00.000Z", ...holder };
  writeFileSync(join(dir, LOCK_KEY), JSON.stringify(h) + "\n");
}

const build = (out: string, ...more: string[]) => runCli(["cache", "build", "--input", "samples/kcs20", "--out", out, "--threads", "1", ...more]);

describe("the folder lock", () => {
  it("refuses a second cache build while a live process holds the folder, naming it", () => {
    const out = join(work.path, "held");
    writeLock(out, { host: hostname(), pid: sleeper.pid!, renewed: new Date().toISOString() });
    const r = build(out);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${out} is locked by cache build (pid ${sleeper.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z)`);
    expect(existsSync(join(out, "cache.json"))).toBe(false);
    const p = runCli(["plan", "--cache", out, "--out", out]);
    expect(p.status).toBe(2);
    expect(p.stderr).toContain(`is locked by cache build (pid ${sleeper.pid}`);
  });

  it("takes over the lock of a process that is gone, and releases its own", () => {
    const out = join(work.path, "stale");
    writeLock(out, { host: hostname(), pid: deadPid(), renewed: new Date().toISOString() });
    const r = build(out);
    expect(r.stderr).toContain("cache ");
    expect(r.status).toBe(0);
    expect(existsSync(join(out, LOCK_KEY))).toBe(false);
    expect(existsSync(join(out, "cache.json"))).toBe(true);
  });

  it("another host's lock holds while renewed, and is taken over after a lease without renewal", () => {
    const out = join(work.path, "other-host");
    writeLock(out, { host: "elsewhere.example", pid: 1, renewed: new Date().toISOString() });
    const held = build(out).status;
    expect(held).toBe(2);
    writeLock(out, { host: "elsewhere.example", pid: 1, renewed: new Date(Date.now() - 3_600_000).toISOString() });
    expect(build(out).status).toBe(0);
  });

  it("a lease is held once, also within one process, and released without a trace", async () => {
    const store = new LocalStorage(join(work.path, "lease"));
    const a = await Lease.tryAcquire(store, LOCK_KEY, "plan");
    expect(a.lease).toBeDefined();
    const b = await Lease.tryAcquire(store, LOCK_KEY, "plan");
    expect(b.holder).toMatchObject({ pid: process.pid, host: hostname(), what: "plan" });
    await a.lease!.release();
    const c = await Lease.tryAcquire(store, LOCK_KEY, "plan");
    expect(c.lease).toBeDefined();
    await c.lease!.release();
    expect(readdirSync(join(work.path, "lease"))).toEqual([]);
  });
});

describe("a cache under a planned run", () => {
  it("is not rebuilt without --force; --force invalidates the run's done bins when the cache changes", () => {
    const run = join(work.path, "run");
    expect(runCli(["run", "--input", "samples/kcs20", "--out", run, "--bins", "2", "--workers", "1"]).status).toBe(0);
    expect(readdirSync(join(run, "done")).length).toBe(2);
    const r = build(join(run, "cache"));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${join(run, "cache")} is the cache of the run planned in ${run} (2 bins done)`);
    expect(r.stderr).toContain("--force");
    // The build is deterministic: the same inputs give the planned cache, so the done bins hold.
    const same = build(join(run, "cache"), "--force");
    expect(same.status).toBe(0);
    expect(same.stderr).toContain(`the rebuilt cache is the one ${run} was planned with (same checksum); its 2 done bins stay valid`);
    expect(readdirSync(join(run, "done")).length).toBe(2);
    // Other data: the done bins are invalidated, and the run refuses the cache it was not planned on.
    const other = build(join(run, "cache"), "--force", "--resample", "2");
    expect(other.status).toBe(0);
    expect(other.stderr).toContain(`differs from the one ${run} was planned with; its 2 done bins are invalidated`);
    expect(readdirSync(join(run, "done"))).toEqual([]);
    const again = runCli(["run", "--resume", run, "--workers", "1"]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toContain("checksum");
    expect(runCli(["status", "--run", run]).stdout).toContain("0 done");
    expect(leftovers(run)).toEqual([]);
  });

  it("a run with other options on a folder that holds a run is refused, naming both", () => {
    const run = join(work.path, "run2");
    expect(runCli(["run", "--input", "samples/kcs20", "--out", run, "--bins", "2", "--workers", "1"]).status).toBe(0);
    const r = runCli(["run", "--input", "samples/kcs20", "--out", run, "--bins", "2", "--resample", "2"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/was built with .*resample=1.* not .*resample=2.*choose a new --out/);
  });
});
