/**
 * The queue loop's overhead: `drain` (receive, heartbeat, run the bin, delete) against the
 * local engine running the same bins of the same plan, both on a run in S3 (fauxqs, in this
 * process), and how fast drain skips bins already done (a redelivered or duplicated message).
 *
 *   node bench/drain.bench.ts [bins=40] [threads=2]
 *
 * kcs20 all-by-all (mean) in `bins` bins: bins of a few pairs, so the figures are what the
 * loop costs per bin, not NBLAST. Real bins run minutes; a few tens of milliseconds per bin
 * is then nothing.
 */
import { fileURLToPath } from "node:url";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { drain } from "../src/backends/aws/drain.ts";
import { sendBins } from "../src/backends/aws/queue.ts";
import { runLocal } from "../src/backends/local/index.ts";
import { buildCache, openCache } from "../src/cache/index.ts";
import { collectInputs } from "../src/inputs/index.ts";
import { SMAT_FCWB } from "../src/nblast/smat.ts";
import { planBins } from "../src/plan/bins.ts";
import { buildManifest, writeManifest } from "../src/plan/manifest.ts";
import { selectNeurons } from "../src/plan/select.ts";
import { openStorage } from "../src/storage/open.ts";
import { startTestFauxqs } from "../test/helpers/fauxqs.ts";
import { CreateQueueCommand } from "@aws-sdk/client-sqs";

const bins = Number(process.argv[2] ?? 40);
const threads = Number(process.argv[3] ?? 2);
const KCS20 = fileURLToPath(new URL("../samples/kcs20", import.meta.url));

const fx = await startTestFauxqs({ buckets: ["bench"] });
const work = await mkdtemp(join(tmpdir(), "nbf-drain-bench-"));
try {
  const s3 = (uri: string) => openStorage(uri, { s3Client: fx.s3 });
  const cacheUri = "s3://bench/caches/kc20";
  await buildCache({ inputs: await collectInputs([KCS20]), out: s3(cacheUri), params: { scale: 1, simplify: undefined, resample: undefined, k: 5 }, precision: "float32", threads: 2 });
  const cache = await openCache(s3(cacheUri));
  const { ids, points, cable } = cache.neurons;
  const selection = selectNeurons(Array.from(ids, (id, i) => ({ id, points: points[i], cable: cable[i] })), {});
  const manifest = buildManifest({
    tool: { version: "bench" },
    cache: { uri: cacheUri, checksum: cache.checksum, params: cache.params },
    selection: {},
    scoring: { normalization: "mean", useAlpha: false, smat: SMAT_FCWB },
    storage: { keepSelf: false, keepForwardReverse: false },
    balance: "cost",
    work: planBins(selection, { bins, normalization: "mean", keepSelf: false }),
  });
  const local = s3("s3://bench/runs/local");
  const queued = s3("s3://bench/runs/queued");
  await writeManifest(local, manifest);
  await writeManifest(queued, manifest);
  const opts = { threads, cacheDir: join(work, "cache"), openCacheStorage: s3 };

  // Warm the cache copy and the code paths once.
  await runLocal({ ...opts, run: s3("s3://bench/runs/local"), bins: [0] });

  let t = performance.now();
  await runLocal({ ...opts, run: local });
  const localSeconds = (performance.now() - t) / 1000;

  const queueUrl = (await fx.sqs.send(new CreateQueueCommand({ QueueName: "bench" }))).QueueUrl!;
  const all = Array.from({ length: bins }, (_, b) => b);
  await sendBins(fx.sqs, queueUrl, queued.uri, all);
  const drainOpts = { ...opts, queueUrl, sqs: fx.sqs, openRun: s3, waitSeconds: 0, emptyReceives: 1, log: () => {} };
  t = performance.now();
  const d = await drain(drainOpts);
  const drainSeconds = (performance.now() - t) / 1000;

  await sendBins(fx.sqs, queueUrl, queued.uri, all);
  t = performance.now();
  const skip = await drain(drainOpts);
  const skipSeconds = (performance.now() - t) / 1000;

  console.log(`drain bench: kcs20 mean all-by-all in ${bins} bins (${manifest.work.bins.length} planned), ${threads} threads, S3 and SQS = fauxqs in-process`);
  console.log(`  local engine: ${(bins - 1)} bins in ${localSeconds.toFixed(2)} s (${(((localSeconds / (bins - 1)) * 1000)).toFixed(1)} ms/bin)`);
  console.log(`  drain:        ${d.done} bins in ${drainSeconds.toFixed(2)} s (${((drainSeconds / d.done) * 1000).toFixed(1)} ms/bin), ` +
    `${(drainSeconds / d.done / (localSeconds / (bins - 1))).toFixed(2)}x the local engine's time per bin`);
  console.log(`  drain, bins already done: ${skip.skipped} messages in ${skipSeconds.toFixed(2)} s (${(skip.skipped / skipSeconds).toFixed(0)} messages/s)`);
} finally {
  await fx.stop();
  await rm(work, { recursive: true, force: true });
}
