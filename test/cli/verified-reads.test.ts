/**
 * Verified reads: a byte flipped in one neuron's data fails exactly the bins that read that
 * neuron (failed/K.json naming the cache, the neuron and the fix; never a done marker), and
 * a byte flipped in a shard (or a shard gone) makes export and top refuse, naming it.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openCache } from "../../src/cache/index.ts";
import { readManifest } from "../../src/plan/manifest.ts";
import { binWork } from "../../src/plan/work.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { runCli } from "../helpers/cli.ts";

/** Several CLI processes in a row: on a loaded 2-core machine they take minutes, not seconds. */
const SLOW = 240_000;

const FC = "samples/fctraces20";
let dir: string;
let inputs: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-verify-"));
  inputs = join(dir, "in");
  mkdirSync(inputs);
  for (const f of readdirSync(FC).filter((f) => f.endsWith(".swc")).slice(0, 8)) copyFileSync(join(FC, f), join(inputs, f));
});

/** Flips one bit of a file at `at`. */
function flip(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] ^= 0x10;
  writeFileSync(path, b);
}

describe("a damaged cache", () => {
  it("fails the bins that read the damaged neuron, naming it, and only those; the rest are done", async () => {
    const run = join(dir, "run");
    const cacheDir = join(run, "cache");
    expect(runCli(["cache", "build", "--input", inputs, "--out", cacheDir, "--threads", "2"]).status).toBe(0);
    expect(runCli(["plan", "--cache", cacheDir, "--out", run, "--bins", "12"]).status).toBe(0);
    const cache = await openCache(new LocalStorage(cacheDir));
    const victim = 3;
    const { ids, names, offsets, points } = cache.neurons;
    const id = ids[victim];
    // a byte inside the neuron's tangents, well away from its block's ends
    flip(join(cacheDir, "dotprops.bin"), offsets[victim] + 3 * points[victim] * 8 + 11);

    const manifest = await readManifest(new LocalStorage(run));
    const reads = (k: number): boolean => binWork(manifest, k).neurons.includes(id);
    const bad = manifest.work.bins.map((_, k) => k).filter(reads);
    expect(bad.length).toBeGreaterThan(0);
    expect(bad.length).toBeLessThan(12);

    const r = runCli(["run", "--resume", run, "--workers", "2"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad.length} of 12 bins failed`);
    for (let k = 0; k < 12; k++) {
      if (bad.includes(k)) {
        expect(existsSync(join(run, "done", `${k}.json`))).toBe(false);
        const failed = JSON.parse(readFileSync(join(run, "failed", `${k}.json`), "utf8")) as { message: string; error: string };
        expect(failed.error).toBe("InputError");
        expect(failed.message).toContain(`bin ${k}: cache ${cacheDir} is damaged: neuron ${id} (${names[victim]}) does not match its checksum`);
        expect(failed.message).toContain(`nblast-fanout cache info --verify ${cacheDir}`);
        expect(failed.message).toContain("nblast-fanout cache build");
      } else {
        expect(existsSync(join(run, "done", `${k}.json`))).toBe(true);
        expect(existsSync(join(run, "failed", `${k}.json`))).toBe(false);
      }
    }

    // One bin alone, as a cluster backend runs it: exit status 2 (bad input), the neuron named.
    const w = runCli(["worker", "--run", run, "--bin", String(bad[0]), "--threads", "1"]);
    expect(w.status).toBe(2);
    expect(w.stderr).toContain(`neuron ${id} (${names[victim]})`);
    expect(w.stderr).not.toMatch(/\n\s+at /);
    const status = runCli(["status", "--run", run]);
    expect(status.stdout).toContain(`12 bins, ${12 - bad.length} done, ${bad.length} failed, 0 pending`);
    expect(status.stdout).toContain(`neuron ${id} (${names[victim]})`);
    const info = runCli(["cache", "info", cacheDir, "--verify"]);
    expect(info.status).toBe(2);
    expect(info.stderr).toContain(`damaged neuron(s): ${id} (${names[victim]})`);

    // The build is deterministic: rebuilding the cache in place repairs it for the same plan
    // (--force: it is a planned run's cache; the same checksum keeps the done bins valid).
    const rebuilt = runCli(["cache", "build", "--input", inputs, "--out", cacheDir, "--threads", "2", "--force"]);
    expect(rebuilt.status).toBe(0);
    expect(rebuilt.stderr).toContain(`done bins stay valid`);
    const again = runCli(["run", "--resume", run]);
    expect(again.status).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`finished: ${bad.length} bins computed, ${12 - bad.length} skipped`));
    expect(readdirSync(join(run, "failed"))).toEqual([]);
  }, SLOW);
});

describe("a damaged or missing shard", () => {
  it("makes export and top refuse (exit 2), naming the shard by path; run --resume recomputes it", () => {
    const run = join(dir, "shards");
    expect(runCli(["run", "--input", inputs, "--out", run, "--bins", "4", "--workers", "2"]).status).toBe(0);
    const csv = join(dir, "good.csv");
    expect(runCli(["export", "--run", run, "--out", csv]).status).toBe(0);
    const good = readFileSync(csv, "utf8");

    const shard1 = join(run, "shards", "bin=1.parquet");
    flip(shard1, Math.floor(readFileSync(shard1).length / 2));
    rmSync(join(run, "shards", "bin=2.parquet"));
    const out = join(dir, "bad.csv");
    for (const args of [["export", "--run", run, "--out", out], ["top", "--run", run, "--neuron", "1"]]) {
      const r = runCli(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${run}/shards/bin=1.parquet does not match its done marker: sha256 `);
      expect(r.stderr).toContain(`${run}/shards/bin=2.parquet is missing`);
      expect(r.stderr).toContain(`nblast-fanout run --resume ${run}`);
      expect(r.stdout).toBe("");
    }
    expect(existsSync(out)).toBe(false);

    const resumed = runCli(["run", "--resume", run]);
    expect(resumed.status).toBe(0);
    expect(resumed.stderr).toMatch(/finished: 2 bins computed, 2 skipped/);
    expect(runCli(["export", "--run", run, "--out", out]).status).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(good);

    // A bin without its done marker: refused, unless --partial, which says what it leaves out.
    rmSync(join(run, "done", "3.json"));
    const refused = runCli(["export", "--run", run, "--out", out]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("1 of 4 bins are not done (3)");
    const partial = runCli(["export", "--run", run, "--out", out, "--partial"]);
    expect(partial.status).toBe(0);
    expect(partial.stderr).toContain("warning: --partial: 1 of 4 bins left out, 3 used (not done: 3)");
  }, SLOW);
});
