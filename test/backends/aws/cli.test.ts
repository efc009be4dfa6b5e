/**
 * `submit aws`, `status`, `resume`, `redrive`, `cancel` and the start/status Lambda
 * handlers against a real moto_server (S3, SQS, Batch), with the stack moto_stack.py makes.
 * Here moto's Batch runs no containers (its jobs fail at once, there being no image):
 * the workers are `drain` processes started by the test, as a Batch child would run them.
 * test/backends/aws/e2e.test.ts has moto's Batch run the real image on Docker.
 */
import { join } from "node:path";
import { DescribeJobsCommand } from "@aws-sdk/client-batch";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLocal } from "../../../src/backends/local/index.ts";
import { createAwsClients, type AwsClients } from "../../../src/backends/aws/clients.ts";
import { startHandler, statusHandler } from "../../../src/backends/aws/lambda.ts";
import { binMessageBody } from "../../../src/backends/aws/message.ts";
import { queueDepth } from "../../../src/backends/aws/queue.ts";
import { costliestFirst } from "../../../src/backends/aws/submit.ts";
import { readSubmission } from "../../../src/backends/aws/submission.ts";
import { buildCache, openCache, type CacheReader } from "../../../src/cache/index.ts";
import { collectInputs } from "../../../src/inputs/index.ts";
import { readManifest } from "../../../src/plan/manifest.ts";
import { binWork } from "../../../src/plan/work.ts";
import { LocalStorage } from "../../../src/storage/local.ts";
import { openStorage } from "../../../src/storage/open.ts";
import { createS3ClientFromEnv } from "../../../src/storage/s3.ts";
import type { Storage } from "../../../src/storage/types.ts";
import { checkDone, runBin } from "../../../src/worker/index.ts";
import { runCli } from "../../helpers/cli.ts";
import { motoForTests } from "../../helpers/moto.ts";
import { mergedRows, planRun, rowsDiff } from "../../worker/helpers.ts";
import { createMotoStack, KCS20, startDrain, tempDir, type MotoStack } from "./helpers.ts";

const moto = await motoForTests();
const KC_PARAMS = { scale: 1, simplify: undefined, resample: undefined, k: 5 };

describe.skipIf(!moto.ok)("the AWS commands on moto", () => {
  if (!moto.ok) return;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let stack: MotoStack;
  let clients: AwsClients;
  let s3: ReturnType<typeof createS3ClientFromEnv>;
  let env: Record<string, string>;
  let localCache: CacheReader;
  let s3Cache: CacheReader;
  let s3CacheUri: string;
  const open = (uri: string): Storage => openStorage(uri, { s3Client: s3 });

  beforeAll(async () => {
    work = await tempDir("cli");
    // The handlers and the storage layer build their clients from this process's environment.
    Object.assign(process.env, moto.env);
    stack = await createMotoStack(moto.endpoint, work.path, { name: "ops", image: "nblast-fanout-worker:absent" });
    clients = createAwsClients();
    s3 = createS3ClientFromEnv(moto.env);
    env = { ...moto.env, NBLAST_FANOUT_CACHE_DIR: join(work.path, "host-cache") };
    const inputs = await collectInputs([KCS20]);
    const params = KC_PARAMS;
    const local = new LocalStorage(join(work.path, "cache"));
    await buildCache({ inputs, out: local, params, precision: "float32", threads: 2 });
    localCache = await openCache(local);
    s3CacheUri = `s3://${stack.bucket}/caches/kc20`;
    await buildCache({ inputs, out: open(s3CacheUri), params, precision: "float32", threads: 2 });
    s3Cache = await openCache(open(s3CacheUri));
  });
  afterAll(async () => {
    clients?.sqs.destroy();
    clients?.batch.destroy();
    s3?.destroy();
    await moto.stop();
    await work?.cleanup();
  });

  it("submit aws uploads a local run (cache, manifest re-sealed for it, a bin done here), queues the rest, submits one array job; drain finishes it", async () => {
    const localDir = join(work.path, "local-run");
    const local = new LocalStorage(localDir);
    const m = await planRun(local, localCache, { bins: 4, normalization: "mean" });
    await runBin({ run: local, bin: 0, threads: 1 });

    const r = runCli(["submit", "aws", "--run", localDir, "--workers", "2", "--stack-outputs", stack.outputsFile], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/: 3 bins queued \(the costliest first\), 1 already done; job nblast-fanout-local-run \(\S+\) of 2 workers submitted/);
    expect(r.stderr).toContain(`copying the cache ${localCache.uri} to s3://${stack.bucket}/caches/local-run`);

    const run = open(`s3://${stack.bucket}/runs/local-run`);
    const remote = await readManifest(run);
    expect(remote.cache.uri).toBe(`s3://${stack.bucket}/caches/local-run`);
    expect(remote.cache.checksum).toBe(m.cache.checksum);
    expect(remote.digest).not.toBe(m.digest);
    expect({ ...remote, digest: "", cache: { ...remote.cache, uri: "" } }).toEqual({ ...m, digest: "", cache: { ...m.cache, uri: "" } });
    expect((await checkDone(run, remote, 0)).state).toBe("done");

    const record = await readSubmission(run);
    expect(record).toMatchObject({ state: "submitted", by: "cli", workers: 2, manifest: remote.digest, run: run.uri });
    expect(record!.enqueued).toEqual([expect.objectContaining({ bins: "1-3", count: 3, by: "submit" })]);
    expect(JSON.stringify(record)).not.toMatch(/testing|SecretAccessKey/i);
    const job = (await clients.batch.send(new DescribeJobsCommand({ jobs: [record!.jobs[0].id] }))).jobs![0];
    expect(job.arrayProperties?.size).toBe(2);
    expect(job.jobQueue).toBe(stack.jobQueue);
    expect(await queueDepth(clients.sqs, stack.queueUrl)).toMatchObject({ visible: 3 });

    const again = runCli(["submit", "aws", "--run", localDir, "--stack-outputs", stack.outputsFile], { env });
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/was already submitted \(by the CLI at .*\); see `nblast-fanout status/);

    const w = startDrain(stack.queueUrl, env);
    expect((await w.exit).code, w.stderr()).toBe(0);
    const status = runCli(["status", "--run", run.uri], { env });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toContain(`${run.uri}: 4 bins, 4 done, 0 failed, 0 pending`);
    expect(status.stdout).toContain("every bin is done");
    expect(status.stdout).toMatch(/compute: [\d.]+ vCPU-hours so far, \$[\d.]+ at \$0\.015 per vCPU-hour \(an assumed Spot price; set --vcpu-hour-price\)/);

    await runLocal({ run: local, threads: 2 });
    expect(rowsDiff(await mergedRows(run), await mergedRows(local))).toBeUndefined();
  }, 240_000);

  it("a bin that always fails: status names it dead-lettered; resume leaves it to redrive; redrive brings it back; cancel removes only this run's messages", async () => {
    const run = open(`s3://${stack.bucket}/runs/failing`);
    const ids = Array.from(s3Cache.neurons.ids);
    const m = await planRun(
      run,
      s3Cache,
      { bins: 3, normalization: "normalized", extra: [{ id: 99999n, points: 400, cable: 400 }], queryIds: [...ids, 99999n], targetIds: ids },
      s3CacheUri,
    );
    const bad = m.work.bins.map((_, b) => b).filter((b) => binWork(m, b).neurons.includes(99999n));
    expect(bad).toHaveLength(1);
    const k = bad[0];

    const sub = runCli(["submit", "aws", "--run", run.uri, "--workers", "1", "--stack-outputs", stack.outputsFile], { env });
    expect(sub.status, sub.stderr).toBe(0);
    expect(sub.stdout).toContain("3 bins queued");
    const w = startDrain(stack.queueUrl, env);
    const drained = await w.exit;
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stderr).toMatch(/drain: queue empty: 2 bins done, 0 skipped, 3 failed/);

    const status = runCli(["status", "--run", run.uri], { env });
    expect(status.stdout).toContain(`3 bins, 2 done, 1 failed, 0 pending`);
    expect(status.stdout).toMatch(new RegExp(`bin ${k} failed on .*neuron 99999 of the plan is not in the cache`));
    expect(status.stdout).toContain(`dead-lettered bins of this run: ${k} (retry them with: nblast-fanout redrive --run ${run.uri})`);
    const json = JSON.parse(runCli(["status", "--run", run.uri, "--json", "--vcpu-hour-price", "0.05"], { env }).stdout);
    expect(json.aws.deadLetteredBins).toEqual([k]);
    expect(json.aws.cost).toMatchObject({ vcpuHourPrice: 0.05, priceAssumed: false });

    const resumed = runCli(["resume", "--run", run.uri], { env });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resume: 0 bins sent to the queue, 1 dead-lettered (bins ${k}: nblast-fanout redrive --run ${run.uri})`);

    const redriven = runCli(["redrive", "--run", run.uri], { env });
    expect(redriven.status, redriven.stderr).toBe(0);
    expect(redriven.stdout).toMatch(new RegExp(`redrive: bins ${k} moved back to the queue`));
    expect(await queueDepth(clients.sqs, stack.dlqUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await queueDepth(clients.sqs, stack.queueUrl)).toMatchObject({ visible: 1 });

    // Now queued: resume sends nothing; --all-missing sends it again (a harmless duplicate).
    expect(runCli(["resume", "--run", run.uri], { env }).stdout).toContain("resume: 0 bins sent to the queue, 1 assumed still queued");
    expect(runCli(["resume", "--run", run.uri, "--all-missing"], { env }).stdout).toContain("resume: 1 bins sent to the queue");
    expect(await queueDepth(clients.sqs, stack.queueUrl)).toMatchObject({ visible: 2 });

    // Another run's message on the shared queue survives the cancel.
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: binMessageBody(`s3://${stack.bucket}/runs/other`, 0) }));
    const cancelled = runCli(["cancel", "--run", run.uri], { env });
    expect(cancelled.status, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(/cancel: \d+ jobs? terminated, 2 queued and 0 dead-lettered messages of this run removed/);
    expect(await queueDepth(clients.sqs, stack.queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    expect((await readSubmission(run))?.state).toBe("cancelled");
    expect(runCli(["status", "--run", run.uri], { env }).stdout).toContain("cancelled: 1 bins not done");
  }, 240_000);

  it("the start Lambda's handler, on an S3 event for a manifest: bins queued (costliest first), a job submitted; a second event is left alone", async () => {
    // A stack of its own: the queue depths below are this test's alone.
    const lam = await createMotoStack(moto.endpoint, work.path, { name: "lam", image: "nblast-fanout-worker:absent" });
    const cacheUri = `s3://${lam.bucket}/caches/kc20`;
    await buildCache({ inputs: await collectInputs([KCS20]), out: open(cacheUri), params: KC_PARAMS, precision: "float32", threads: 2 });
    const lamCache = await openCache(open(cacheUri));
    const run = open(`s3://${lam.bucket}/runs/lambda-run`);
    await run.put("aws/request.json", JSON.stringify({ workers: 3 }));
    const m = await planRun(run, lamCache, { bins: 5, normalization: "mean" }, cacheUri);
    const lambdaEnv = {
      ...moto.env,
      BUCKET: lam.bucket,
      QUEUE_URL: lam.queueUrl,
      DLQ_URL: lam.dlqUrl,
      JOB_QUEUE: lam.jobQueue,
      JOB_DEFINITION: lam.jobDefinition,
      DEFAULT_WORKERS: "100",
    };
    const event = {
      Records: [
        { eventName: "ObjectCreated:Put", s3: { bucket: { name: lam.bucket }, object: { key: "runs/lambda-run/manifest.json" } } },
        { eventName: "ObjectCreated:Put", s3: { bucket: { name: lam.bucket }, object: { key: "runs/lambda-run/done/1.json" } } },
      ],
    };
    const lines: string[] = [];
    const result = await startHandler(event, { env: lambdaEnv, log: (l) => lines.push(l) });
    expect(result.started).toEqual([{ run: run.uri, bins: 5, jobId: expect.any(String), workers: 3 }]);
    expect(result.ignored).toEqual([{ key: `s3://${lam.bucket}/runs/lambda-run/done/1.json`, reason: expect.stringContaining("not a run's manifest.json") }]);
    const job = (await clients.batch.send(new DescribeJobsCommand({ jobs: [result.started[0].jobId!] }))).jobs![0];
    expect(job.arrayProperties?.size).toBe(3);
    expect(job.jobDefinition).toBe(lam.jobDefinition);
    expect(await queueDepth(clients.sqs, lam.queueUrl)).toEqual({ visible: 5, inFlight: 0, delayed: 0 });
    const record = await readSubmission(run);
    expect(record).toMatchObject({ by: "lambda", state: "submitted", workers: 3 });
    expect(record!.enqueued[0].bins).toBe("0-4");
    expect(costliestFirst(m, [0, 1, 2, 3, 4]).map((b) => m.work.bins[b].cost)).toEqual(m.work.bins.map((b) => b.cost).sort((a, b) => b - a));

    expect(await startHandler(event, { env: lambdaEnv, log: () => {} })).toMatchObject({ started: [], skipped: [run.uri] });

    const status = (await statusHandler({ run: "lambda-run" }, { env: lambdaEnv })) as { counts: unknown; aws: { jobs: unknown[]; state: string } };
    expect(status.counts).toEqual({ done: 0, failed: 0, pending: 5 });
    expect(status.aws).toMatchObject({ state: "submitted", jobs: [expect.objectContaining({ size: 3 })], deadLetteredBins: null });
    const http = (await statusHandler({ queryStringParameters: { run: run.uri } }, { env: lambdaEnv })) as { statusCode: number; body: string };
    expect(http.statusCode).toBe(200);
    expect(JSON.parse(http.body).counts).toEqual({ done: 0, failed: 0, pending: 5 });
    expect(((await statusHandler({ queryStringParameters: { run: "s3://elsewhere/runs/x" } }, { env: lambdaEnv })) as { statusCode: number }).statusCode).toBe(400);

    // One worker is a plain job: Batch arrays have at least two children.
    const single = open(`s3://${lam.bucket}/runs/single`);
    await single.put("aws/request.json", JSON.stringify({ workers: 1 }));
    await planRun(single, lamCache, { bins: 2, normalization: "mean" }, cacheUri);
    const one = await startHandler(
      { Records: [{ s3: { bucket: { name: lam.bucket }, object: { key: "runs/single/manifest.json" } } }] },
      { env: lambdaEnv, log: () => {} },
    );
    const plain = (await clients.batch.send(new DescribeJobsCommand({ jobs: [one.started[0].jobId!] }))).jobs![0];
    expect(plain.arrayProperties).toBeUndefined();
  });
});
