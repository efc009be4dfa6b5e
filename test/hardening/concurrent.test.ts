/**
 * Several processes on one folder: two `run`s started at once with the same options finish
 * with every bin computed once in all (the done markers' host and pid say which process
 * computed which); two started at once with different options leave one run whose cache and
 * plan agree, and the other is refused.
 */
import { readdirSync, readFileSync } from "node:fs";
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
  });
});
