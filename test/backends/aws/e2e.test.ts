/**
 * End to end on moto and Docker: `submit aws --workers 2` of a local run of 8 bins; moto's
 * Batch starts two containers of the worker image (built from this checkout) on the real
 * engine; they drain moto's SQS and write every shard once to moto's S3 (a versioned
 * bucket: one version per shard); the merged rows are the local engine's; `status` says
 * the run is done.
 */
import { join } from "node:path";
import { ListObjectVersionsCommand, PutBucketVersioningCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLocal } from "../../../src/backends/local/index.ts";
import { readSubmission } from "../../../src/backends/aws/submission.ts";
import { buildCache, openCache, type CacheReader } from "../../../src/cache/index.ts";
import { collectInputs } from "../../../src/inputs/index.ts";
import { LocalStorage } from "../../../src/storage/local.ts";
import { openStorage } from "../../../src/storage/open.ts";
import { createS3ClientFromEnv } from "../../../src/storage/s3.ts";
import { binStatus, readFailed } from "../../../src/worker/index.ts";
import { runCli } from "../../helpers/cli.ts";
import { dockerForTests, workerImage } from "../../helpers/docker.ts";
import { motoForTests } from "../../helpers/moto.ts";
import { mergedRows, planRun, rowsDiff } from "../../worker/helpers.ts";
import { createMotoStack, KCS20, motoBatchLogs, tempDir, type MotoStack } from "./helpers.ts";

const docker = await dockerForTests();
const moto = docker.ok ? await motoForTests({ env: { ...docker.env, MOTO_DOCKER_NETWORK_MODE: "host" } }) : undefined;

describe.skipIf(!docker.ok || !moto?.ok)("AWS end to end: moto's Batch runs the worker image on Docker", () => {
  if (!docker.ok || !moto?.ok) return;
  let image: string;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let stack: MotoStack;
  let cache: CacheReader;
  // The SDK takes the (fake) credentials from this process's environment.
  Object.assign(process.env, moto.env);
  const s3 = createS3ClientFromEnv(moto.env);

  beforeAll(async () => {
    [image, work] = await Promise.all([workerImage(docker), tempDir("e2e")]);
    stack = await createMotoStack(moto.endpoint, work.path, {
      name: "e2e",
      image,
      // The containers share the host's network: moto is on 127.0.0.1 for them too.
      environment: { ...moto.env },
      command: ["drain", "--wait-seconds", "2", "--empty-receives", "2"],
    });
    await s3.send(new PutBucketVersioningCommand({ Bucket: stack.bucket, VersioningConfiguration: { Status: "Enabled" } }));
    const local = new LocalStorage(join(work.path, "cache"));
    await buildCache({ inputs: await collectInputs([KCS20]), out: local, params: { scale: 1, simplify: undefined, resample: undefined, k: 5 }, precision: "float32", threads: 2 });
    cache = await openCache(local);
  }, 15 * 60_000);
  afterAll(async () => {
    s3.destroy();
    await moto.stop();
    // moto removes its jobs' containers, unless it was stopped before they ended (by their
    // names, the job's: other test files run containers of the same image at the same time)
    const left = await docker.run(["ps", "-aq", "--filter", "name=nblast-fanout-kc20"]);
    const ids = left.stdout.split("\n").filter(Boolean);
    if (ids.length > 0) await docker.run(["rm", "-f", ...ids]);
    await work?.cleanup();
  });

  it("submit aws --workers 2 on 8 bins: every shard written once by the containers, the local engine's rows, status done", async () => {
    const spec = { bins: 8, normalization: "mean" as const, minScore: 0 };
    const reference = new LocalStorage(join(work.path, "reference"));
    await planRun(reference, cache, spec);
    expect((await runLocal({ run: reference, threads: 2 })).done).toBe(8);

    const localDir = join(work.path, "kc20");
    await planRun(new LocalStorage(localDir), cache, spec);
    const env = { ...moto.env, NBLAST_FANOUT_CACHE_DIR: join(work.path, "host-cache") };
    const sub = runCli(["submit", "aws", "--run", localDir, "--workers", "2", "--stack-outputs", stack.outputsFile], { env });
    expect(sub.status, sub.stderr).toBe(0);
    expect(sub.stdout).toContain("8 bins queued (the costliest first); job nblast-fanout-kc20");

    const run = openStorage(`s3://${stack.bucket}/runs/kc20`, { s3Client: s3 });
    const record = (await readSubmission(run))!;
    // Wait for the workers: every bin done, and the array's two children finished.
    let status = await binStatus(run);
    let lines = "";
    for (const until = Date.now() + 5 * 60_000; Date.now() < until; ) {
      status = await binStatus(run);
      const out = runCli(["status", "--run", run.uri], { env });
      lines = out.stdout + out.stderr;
      if (status.counts.failed > 0) break;
      if (status.counts.done === 8 && /2 succeeded/.test(lines)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const failures = await Promise.all(status.failed.map((f) => readFailed(run, f.bin)));
    expect(failures).toEqual([]);
    expect(status.counts).toEqual({ done: 8, failed: 0, pending: 0 });
    expect(lines).toContain(`${run.uri}: 8 bins, 8 done, 0 failed, 0 pending`);
    expect(lines).toContain("every bin is done");
    expect(lines).toMatch(new RegExp(`job nblast-fanout-kc20 \\(${record.jobs[0].id}\\), 2 workers: succeeded; 2 succeeded`));
    expect(lines).toContain("queue (shared by every run): 0 waiting, 0 in flight, 0 delayed");

    // Written by the two containers moto started (their logs say which bins they did), each bin once.
    const streams = Object.values(motoBatchLogs(moto.endpoint));
    expect(streams).toHaveLength(2);
    const doneBy: number[] = [];
    for (const lines of streams) {
      for (const line of lines) {
        const m = /drain: bin (\d+) of \S+: done/.exec(line);
        if (m !== null) doneBy.push(Number(m[1]));
      }
      expect(lines.some((l) => /drain: queue empty: \d+ bins done/.test(l))).toBe(true);
    }
    expect(doneBy.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: stack.bucket, Prefix: "runs/kc20/shards/" }));
    const perKey = new Map<string, number>();
    for (const v of versions.Versions ?? []) perKey.set(v.Key!, (perKey.get(v.Key!) ?? 0) + 1);
    expect(perKey.size).toBe(8);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);

    expect(rowsDiff(await mergedRows(run), await mergedRows(reference))).toBeUndefined();
  }, 6 * 60_000);
});
