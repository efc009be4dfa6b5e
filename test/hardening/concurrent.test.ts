/**
 * Several processes on one folder: two `run`s started at once with the same options finish
 * with every bin computed once in all (the done markers' host and pid say which process
 * computed which); two started at once with different options leave one run whose cache and
 * plan agree, and the other is refused.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";
import { leftovers, spawnCli, tempDir } from "./helpers.ts";

let work: ReturnType<typeof tempDir>;
beforeAll(() => {
  work = tempDir("concurrent");
});
afterAll(() => work.cleanup());

const computed = (stderr: string): number => Number(/finished: (\d+) bins computed/.exec(stderr)?.[1] ?? NaN);

describe("two runs at once on one folder", () => {
  it("with the same options: every bin computed once in all", async () => {
    const out = join(work.path, "same");
    const args = ["run", "--input", "samples/kcs20", "--out", out, "--bins", "12", "--workers", "1"];
    const [a, b] = await Promise.all([spawnCli(args), spawnCli(args)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(computed(a.stderr) + computed(b.stderr)).toBe(12);

    const markers = readdirSync(join(out, "done")).map((f) => JSON.parse(readFileSync(join(out, "done", f), "utf8")) as { bin: number; pid: number; host: string });
    expect(markers.map((m) => m.bin).sort((x, y) => x - y)).toEqual([...Array(12).keys()]);
    for (const m of markers) {
      expect(m.host).toBe(hostname());
      expect([a.pid, b.pid]).toContain(m.pid);
    }
    // Each process's count is the markers bearing its pid: no bin was computed twice.
    expect(markers.filter((m) => m.pid === a.pid).length).toBe(computed(a.stderr));
    expect(markers.filter((m) => m.pid === b.pid).length).toBe(computed(b.stderr));
    expect(leftovers(out)).toEqual([]);
    expect(runCli(["status", "--run", out]).stdout).toContain("12 done, 0 failed, 0 pending");
  });

  it("with different --resample: one run, whose cache and plan agree; the other refused", async () => {
    const out = join(work.path, "different");
    const base = ["run", "--input", "samples/kcs20", "--out", out, "--bins", "2", "--workers", "1"];
    const [a, b] = await Promise.all([spawnCli([...base, "--resample", "1"]), spawnCli([...base, "--resample", "2"])]);
    expect([a.code, b.code].sort()).toEqual([0, 2]);
    const refused = a.code === 2 ? a : b;
    expect(refused.stderr).toMatch(/was built with .*resample=.* not .*resample=.*choose a new --out/);
    const cache = JSON.parse(readFileSync(join(out, "cache", "cache.json"), "utf8")) as { params: unknown; sha256: string };
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { cache: { params: unknown; checksum: string } };
    expect(manifest.cache.checksum).toBe(cache.sha256);
    expect(manifest.cache.params).toEqual(cache.params);
    expect(leftovers(out)).toEqual([]);
  });
});

describe("--bins beyond the pairs", () => {
  it("is refused before the cache is built", () => {
    const out = join(work.path, "bins");
    const r = runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "1e9"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--bins 1000000000 is more than the pairs of 20 neurons (at most 400)");
    expect(r.stderr).not.toContain("dotprops [");
    expect(readdirSync(join(out, "cache"))).toEqual([]);
    // Nothing was started: --resume does not offer the refused command back.
    expect(readdirSync(out).sort()).toEqual(["cache"]);
  });
});

describe("a bin claimed by another live process", () => {
  it("is waited for by worker and run, then computed once its claim is released", async () => {
    const { LocalStorage } = await import("../../src/storage/local.ts");
    const { claimBin } = await import("../../src/worker/claims.ts");
    const out = join(work.path, "claimed");
    expect(runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "3", "--workers", "1"]).status).toBe(0);
    for (const f of readdirSync(join(out, "done"))) rmSync(join(out, "done", f));
    // This test process holds bins 0 and 2, as a `run` elsewhere on this host would.
    const run = new LocalStorage(out);
    const held0 = await claimBin(run, 0, "run");
    const held2 = await claimBin(run, 2, "run");
    expect(held0.lease && held2.lease).toBeDefined();

    const worker = spawnCli(["worker", "--run", out, "--bin", "0", "--threads", "1"]);
    const runner = spawnCli(["run", "--resume", out, "--workers", "1"]);
    await waitFor(() => existsSync(join(out, "done", "1.json")));
    await new Promise((r) => setTimeout(r, 1000));
    expect(existsSync(join(out, "done", "0.json"))).toBe(false);
    expect(existsSync(join(out, "done", "2.json"))).toBe(false);
    await held0.lease!.release();
    await held2.lease!.release();
    const [w, r] = await Promise.all([worker, runner]);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toContain(`bin 0: being computed by run (bin 0) (pid ${process.pid}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`bin 2 is being computed by run (bin 2) (pid ${process.pid}`);
    const pidOf = (bin: number) => (JSON.parse(readFileSync(join(out, "done", `${bin}.json`), "utf8")) as { pid: number }).pid;
    expect(pidOf(1)).toBe(r.pid);
    expect(pidOf(2)).toBe(r.pid);
    // Bin 0: whichever of the two claimed it first once it was free, computed once.
    expect([w.pid, r.pid]).toContain(pidOf(0));
    expect(computed(r.stderr) + (w.stderr.includes("bin 0: done,") ? 1 : 0)).toBe(3);
    expect(leftovers(out)).toEqual([]);
  });
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(ok()).toBe(true);
}
