/**
 * The worker image (container/Dockerfile), built on the real Docker engine from this
 * checkout on the local Debian base, runs one bin of a locally planned run mounted into
 * the container: its shard is the local engine's, byte for byte.
 */
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLocal } from "../../src/backends/local/index.ts";
import type { CacheReader } from "../../src/cache/index.ts";
import { decodeShard } from "../../src/results/shard.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { checkDone } from "../../src/worker/index.ts";
import { readManifest } from "../../src/plan/manifest.ts";
import { sendBins, queueDepth } from "../../src/backends/aws/queue.ts";
import { command, dockerForTests, workerImage } from "../helpers/docker.ts";
import { startTestFauxqs } from "../helpers/fauxqs.ts";
import { buildKc100Cache, createQueues } from "../backends/aws/helpers.ts";
import { buildTestCache, planRun, rowsDiff, tempDir, type RunSpec } from "../worker/helpers.ts";

const docker = await dockerForTests();

describe.skipIf(!docker.ok)("the worker image", () => {
  if (!docker.ok) return;
  let image: string;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let cache: CacheReader;
  const spec: RunSpec = { bins: 4, normalization: "mean" };

  beforeAll(async () => {
    [image, work] = await Promise.all([workerImage(docker), tempDir("image")]);
    cache = await buildTestCache(new LocalStorage(join(work.path, "cache")), 8);
  }, 15 * 60_000);
  afterAll(() => work?.cleanup());

  it("holds production dependencies only and runs as a non-root user", async () => {
    const r = await docker.run([
      "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
      "id -u; test -d /app/node_modules/zod && echo zod; test -e /app/node_modules/typescript || echo no-typescript; " +
        "test -e /app/node_modules/vitest || echo no-vitest; test -e /app/src || echo no-src",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["10001", "zod", "no-typescript", "no-vitest", "no-src"]);
    const version = await docker.run(["run", "--rm", "--network", "none", image, "--version"]);
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it("`docker run IMAGE worker --run RUN --bin K` on a mounted run writes the local engine's shard", async () => {
    const local = new LocalStorage(join(work.path, "local"));
    await planRun(local, cache, spec);
    const summary = await runLocal({ run: local, threads: 1 });
    expect(summary.done).toBe(4);

    const runDir = join(work.path, "in-docker");
    const run = new LocalStorage(runDir);
    const manifest = await planRun(run, cache, spec);
    // The container's user (uid 10001) reads the cache and writes the shard and the marker
    // into the mounted run (a user would pass --user "$(id -u):$(id -g)" instead).
    await chmod(work.path, 0o755);
    await chmod(runDir, 0o777);
    const bin = 2;
    const r = await docker.run([
      "run", "--rm", "--network", "none", "--cpus", "1", "-v", `${work.path}:${work.path}`,
      image, "worker", "--run", runDir, "--bin", String(bin),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`bin ${bin}: done`);

    const done = await checkDone(run, await readManifest(run), bin);
    expect(done.state).toBe("done");
    if (done.state !== "done") return;
    expect(done.marker.threads).toBe(1); // from the container's CPU quota (--cpus 1)
    expect((await stat(join(runDir, "shards", `bin=${bin}.parquet`))).uid).toBe(10001);
    expect(await run.list("shards/")).toEqual([`shards/bin=${bin}.parquet`]);

    const mine = await run.get(`shards/bin=${bin}.parquet`);
    const theirs = await local.get(`shards/bin=${bin}.parquet`);
    expect(rowsDiff(await decodeShard(mine), await decodeShard(theirs))).toBeUndefined();
    // the same plan (same digest) and the same rows give the same bytes
    const localDone = await checkDone(local, manifest, bin);
    expect(localDone.state === "done" && localDone.marker.shard.sha256).toBe(done.marker.shard.sha256);
  }, 180_000);

  it("`docker stop` of a draining container: tini hands SIGTERM to Node, the bin's message is visible again at once, exit 0", async () => {
    const fx = await startTestFauxqs();
    try {
      const big = await buildKc100Cache(new LocalStorage(join(work.path, "kc100")), work.path);
      const runDir = join(work.path, "drained");
      const run = new LocalStorage(runDir);
      await planRun(run, big, { bins: 2, normalization: "mean" });
      await chmod(work.path, 0o755);
      await chmod(runDir, 0o777);
      const q = await createQueues(fx.sqs, "in-docker");
      await sendBins(fx.sqs, q.queueUrl, runDir, [0]);
      const name = `nbf-drain-${process.pid}`;
      const env = Object.entries(fx.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
      const running = docker.run([
        "run", "--rm", "--name", name, "--network", "host", "--cpus", "1", "-v", `${work.path}:${work.path}`, ...env,
        image, "drain", "--queue", q.queueUrl, "--visibility-timeout", "300",
      ]);
      // Wait until the bin is being scored, then stop the container as Batch would.
      for (let i = 0; i < 300; i++) {
        const logs = await docker.run(["logs", name]);
        if (/bin 0 of \S+: scoring/.test(logs.stderr)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const stop = await command("docker", ["stop", "--time", "20", name], { env: docker.env });
      expect(stop.code, stop.stderr).toBe(0);
      const r = await running;
      expect(r.stderr).toContain("drain: SIGTERM: releasing the current bin and stopping");
      expect(r.stderr).toContain("its message is visible again for another worker");
      expect(r.code, r.stderr).toBe(0);
      expect(await queueDepth(fx.sqs, q.queueUrl)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
      expect(await run.size("done/0.json")).toBeUndefined();
    } finally {
      await fx.stop();
    }
  }, 180_000);
});
