/**
 * `drain`, as real worker processes on one queue (fauxqs: S3 and SQS in this process):
 * a worker SIGKILLed mid-bin has its bin received again after the visibility timeout and
 * finished by another; SIGTERM puts the message back at once and exits 0; a bin that
 * always fails ends in the dead-letter queue; a bin already done is skipped; no shard or
 * marker is ever written twice.
 */
import { join } from "node:path";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheReader } from "../../../src/cache/index.ts";
import { sendBins, queueDepth } from "../../../src/backends/aws/queue.ts";
import { binWork } from "../../../src/plan/work.ts";
import { openStorage } from "../../../src/storage/open.ts";
import type { Storage } from "../../../src/storage/types.ts";
import { binStatus, doneKey, failedKey, readFailed } from "../../../src/worker/index.ts";
import { startTestFauxqs, type TestFauxqs } from "../../helpers/fauxqs.ts";
import { mergedRows, planRun } from "../../worker/helpers.ts";
import { buildKc100Cache, createQueues, receiveAll, startDrain, tempDir } from "./helpers.ts";

let fx: TestFauxqs;
let work: Awaited<ReturnType<typeof tempDir>>;
let cache: CacheReader;
let env: Record<string, string>;
const CACHE_URI = "s3://data/caches/kc100";
/** Object writes (PUT) by key, to prove nothing is stored twice. */
const puts = new Map<string, number>();

beforeAll(async () => {
  fx = await startTestFauxqs({
    buckets: ["data"],
    onRequest: (method, path) => {
      if (method === "PUT") puts.set(path, (puts.get(path) ?? 0) + 1);
    },
  });
  work = await tempDir("drain");
  cache = await buildKc100Cache(openStorage(CACHE_URI, { s3Client: fx.s3 }), work.path);
  env = { ...fx.env, NBLAST_FANOUT_CACHE_DIR: join(work.path, "host-cache") };
});
afterAll(async () => {
  await fx?.stop();
  await work?.cleanup();
});

function s3Run(name: string): Storage {
  return openStorage(`s3://data/runs/${name}`, { s3Client: fx.s3 });
}

function writesOf(run: string, prefix: string): number[] {
  const out: number[] = [];
  for (const [path, n] of puts) if (path.startsWith(`/data/runs/${run}/${prefix}`)) out.push(n);
  return out;
}

describe("drain on one queue with real worker processes", () => {
  it("a worker killed mid-bin: its bin comes back after the visibility timeout and another worker finishes it; nothing stored twice", async () => {
    const run = s3Run("killed");
    const m = await planRun(run, cache, { bins: 4, normalization: "mean" }, CACHE_URI);
    const q = await createQueues(fx.sqs, "killed");
    await sendBins(fx.sqs, q.queueUrl, run.uri, [0, 1, 2, 3]);

    const first = startDrain(q.queueUrl, env);
    await first.waitFor(/bin (\d+) of \S+: scoring/);
    first.child.kill("SIGKILL");
    const killed = (await first.exit).stderr;
    const killedBin = Number(/bin (\d+) of \S+: scoring/.exec(killed)![1]);
    expect(killed).not.toContain(`bin ${killedBin} of ${run.uri}: done`);
    expect(await run.size(doneKey(killedBin))).toBeUndefined();
    // Another bin a second time: whichever of its two messages comes last is skipped by its done marker.
    await sendBins(fx.sqs, q.queueUrl, run.uri, [(killedBin + 1) % 4]);

    const second = startDrain(q.queueUrl, env);
    const out = await second.exit;
    expect(out.code, out.stderr).toBe(0);
    // the killed bin was received a second time, by this worker
    expect(out.stderr).toMatch(new RegExp(`bin ${killedBin} of \\S+: scoring \\(\\d+ pairs, receive 2\\)`));
    expect(out.stderr).toContain("skipped, already done; message deleted");
    expect(out.stderr).toMatch(/drain: queue empty: \d bins done, 1 skipped, 0 failed/);

    expect((await binStatus(run)).counts).toEqual({ done: 4, failed: 0, pending: 0 });
    expect(writesOf("killed", "shards/")).toEqual([1, 1, 1, 1]);
    expect(writesOf("killed", "done/")).toEqual([1, 1, 1, 1]);
    const rows = await mergedRows(run); // throws on a pair stored twice
    const n = m.selection.queries;
    expect(rows.length).toBe(n * (n - 1));
    expect(await queueDepth(fx.sqs, q.queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 180_000);

  it("SIGTERM: the bin in progress is released at once (visible again), the worker exits 0, another worker takes it", async () => {
    const run = s3Run("term");
    await planRun(run, cache, { bins: 4, normalization: "mean" }, CACHE_URI);
    const q = await createQueues(fx.sqs, "term");
    await sendBins(fx.sqs, q.queueUrl, run.uri, [2]);

    // A long timeout: were the message not released, nobody could receive it for 300 s.
    const first = startDrain(q.queueUrl, env, ["--visibility-timeout", "300", "--heartbeat", "100"]);
    await first.waitFor("bin 2 of");
    await first.waitFor(/bin 2 of \S+: scoring/);
    first.child.kill("SIGTERM");
    const out = await first.exit;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain("its message is visible again for another worker");
    expect(out.stderr).toContain("drain: stopped by a signal: 0 bins done");
    expect(await run.size(doneKey(2))).toBeUndefined();
    expect(await queueDepth(fx.sqs, q.queueUrl)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });

    const second = startDrain(q.queueUrl, env, ["--visibility-timeout", "300", "--heartbeat", "100"]);
    const out2 = await second.exit;
    expect(out2.code, out2.stderr).toBe(0);
    expect(out2.stderr).toMatch(/bin 2 of \S+: scoring \(\d+ pairs, receive 2\)/);
    expect((await binStatus(run)).done).toEqual([2]);
  }, 180_000);

  it("a bin that always fails: failed/K.json, and after maxReceiveCount receives the message is in the dead-letter queue", async () => {
    const run = s3Run("failing");
    const ids = Array.from(cache.neurons.ids);
    // Neuron 99999 is planned but not in the cache: the bins that read it fail every time.
    const m = await planRun(
      run,
      cache,
      { bins: 3, normalization: "normalized", extra: [{ id: 99999n, points: 400, cable: 400 }], queryIds: [...ids, 99999n], targetIds: ids },
      CACHE_URI,
    );
    const bad = m.work.bins.map((_, b) => b).filter((b) => binWork(m, b).neurons.includes(99999n));
    expect(bad.length).toBe(1);
    const q = await createQueues(fx.sqs, "failing", 3);
    await sendBins(fx.sqs, q.queueUrl, run.uri, [0, 1, 2]);

    const w = startDrain(q.queueUrl, env);
    const out = await w.exit;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr.match(new RegExp(`bin ${bad[0]} of \\S+: failed on`, "g"))).toHaveLength(3);
    expect(out.stderr).toMatch(/drain: queue empty: 2 bins done, 0 skipped, 3 failed/);

    const status = await binStatus(run);
    expect(status.done).toEqual([0, 1, 2].filter((b) => b !== bad[0]));
    expect(status.failed.map((f) => f.bin)).toEqual(bad);
    expect((await readFailed(run, bad[0]))?.message).toMatch(/neuron 99999 of the plan is not in the cache/);
    expect(await run.size(failedKey(bad[0]))).toBeGreaterThan(0);

    expect(await queueDepth(fx.sqs, q.queueUrl)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const dead = await receiveAll(fx.sqs, q.dlqUrl);
    expect(dead.map((b) => JSON.parse(b))).toEqual([{ v: 1, run: run.uri, bin: bad[0] }]);
    const attrs = await fx.sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ["ApproximateNumberOfMessagesNotVisible"] }));
    expect(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe("1");
  }, 180_000);
});
