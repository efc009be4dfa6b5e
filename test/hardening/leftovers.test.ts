/**
 * Temp files and scratch folders: removed on every way out of the process (SIGINT, SIGTERM,
 * exit), and those of killed processes removed by a later run once their owner is gone.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTag } from "../../src/storage/owner.ts";
import { sweepCopyLeftovers, sweepLeftovers } from "../../src/storage/sweep.ts";
import { isTempName, tempOwner, tempPathFor } from "../../src/storage/atomic-file.ts";
import { deadPid, tempDir } from "./helpers.ts";

const ATOMIC = fileURLToPath(new URL("../../src/storage/atomic-file.ts", import.meta.url));

let work: ReturnType<typeof tempDir>;
beforeAll(() => {
  work = tempDir("leftovers");
});
afterAll(() => work.cleanup());

/** A process in the middle of an atomic streamed write (its source never ends), signalled once the temp file exists. */
function writerKilledBy(signal: NodeJS.Signals, dir: string): Promise<{ signal: NodeJS.Signals | null; code: number | null }> {
  const script = `
    import { writeStreamAtomic } from ${JSON.stringify(ATOMIC)};
    async function* endless() { yield "a"; process.stdout.write("writing\\n"); await new Promise(() => setInterval(() => {}, 1000)); }
    await writeStreamAtomic(${JSON.stringify(join(dir, "out.csv"))}, endless());
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (d.includes("writing")) {
        expect(readdirSync(dir).filter(isTempName)).toHaveLength(1);
        child.kill(signal);
      }
    });
    child.on("error", reject);
    child.on("close", (code, sig) => resolve({ code, signal: sig }));
  });
}

describe("temp files of a signalled process", () => {
  it.each(["SIGTERM", "SIGINT"] as const)("are removed on %s, and the process still ends by the signal", async (sig) => {
    const dir = join(work.path, sig);
    mkdirSync(dir);
    const r = await writerKilledBy(sig, dir);
    expect(r.signal).toBe(sig);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("sweepLeftovers", () => {
  it("removes temp files and scratch folders whose owner is gone, and only those", async () => {
    const run = join(work.path, "run");
    mkdirSync(join(run, "shards"), { recursive: true });
    mkdirSync(join(run, "cache"), { recursive: true });
    const dead = deadPid();
    const deadTemp = join(run, "shards", `.bin=1.parquet.${hostTag()}-${dead}-0123456789ab.nbf-tmp`);
    const liveTemp = tempPathFor(join(run, "shards", "bin=2.parquet")); // this process's: never touched
    const oldFormat = join(run, "shards", ".bin=3.parquet.0123456789ab.nbf-tmp"); // no owner: by age
    const youngOldFormat = join(run, "shards", ".bin=4.parquet.ba9876543210.nbf-tmp");
    const otherHost = join(run, "shards", `.bin=5.parquet.ffffffff-1-0123456789ab.nbf-tmp`);
    for (const f of [deadTemp, liveTemp, oldFormat, youngOldFormat, otherHost]) writeFileSync(f, "partial");
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(oldFormat, hourAgo, hourAgo);
    const deadScratch = join(run, "cache", `.cache-build-${hostTag()}-${dead}-AbC123`);
    const liveScratch = join(run, "cache", `.cache-build-${hostTag()}-${process.pid}-XyZ789`);
    for (const d of [deadScratch, liveScratch]) {
      mkdirSync(d);
      writeFileSync(join(d, "dotprops.bin"), "x");
    }
    writeFileSync(join(run, "shards", "bin=0.parquet"), "a real file");

    expect(tempOwner(`.x.${hostTag()}-42-0123456789ab.nbf-tmp`)).toEqual({ hostTag: hostTag(), pid: 42 });
    const removed = await sweepLeftovers(run);
    expect(removed.sort()).toEqual([deadScratch, deadTemp, oldFormat].sort());
    expect(readdirSync(join(run, "shards")).sort()).toEqual(
      ["bin=0.parquet", ...[liveTemp, youngOldFormat, otherHost].map((p) => p.slice(join(run, "shards").length + 1))].sort(),
    );
    expect(readdirSync(join(run, "cache"))).toEqual([liveScratch.slice(join(run, "cache").length + 1)]);
  });

  it("removes half-done local copies of remote caches whose process is gone, never a finished copy", async () => {
    const dir = join(work.path, "cache-dir");
    const sha = "0123456789abcdef".repeat(4);
    const finished = join(dir, sha);
    const dead = join(dir, `.${sha.slice(0, 16)}-${hostTag()}-${deadPid()}-AbC123`);
    const live = join(dir, `.${sha.slice(0, 16)}-${hostTag()}-${process.pid}-XyZ789`);
    for (const d of [finished, dead, live]) mkdirSync(d, { recursive: true });
    expect(await sweepCopyLeftovers(dir)).toEqual([dead]);
    expect(readdirSync(dir).sort()).toEqual([sha, live.slice(dir.length + 1)].sort());
  });
});
