/**
 * The bin worker: scaling from 1 to 2 threads on one bin, and its peak memory against the
 * size of the cache. Each measurement is a fresh `nblast-fanout worker` process, so
 * its peak RSS is its own; figures come from the bin's done marker.
 *
 *   node bench/worker.bench.ts [copies=5] [bins=1] [mode=mean] [threads=1,2] [reps=3] [queries=all]
 *
 * The data set is fctraces20 copied `copies` times (resample 1 um, k 5, float32 cache);
 * bin 0 of a `bins`-bin plan is measured, `reps` times per thread count, alternating, and
 * the fastest scoring phase kept (the machine is shared: the others are noise). The first
 * phase (the marker's selfScores) builds the bin's k-d trees and self scores, and includes
 * starting the threads. With
 * `queries` = q, only the first q neurons are queries (against all targets): a bin that
 * meets every neuron of the cache, to see memory grow with the bin's points.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCache, openCache } from "../src/cache/index.ts";
import { collectInputs } from "../src/inputs/index.ts";
import { isNormalization } from "../src/nblast/modes.ts";
import { SMAT_FCWB } from "../src/nblast/smat.ts";
import { planBins } from "../src/plan/bins.ts";
import { buildManifest, writeManifest } from "../src/plan/manifest.ts";
import { selectNeurons } from "../src/plan/select.ts";
import { LocalStorage } from "../src/storage/local.ts";
import type { DoneMarker } from "../src/worker/markers.ts";

const copies = Number(process.argv[2] ?? 5);
const bins = Number(process.argv[3] ?? 1);
const mode = process.argv[4] ?? "mean";
const threadCounts = (process.argv[5] ?? "1,2").split(",").map(Number);
const reps = Number(process.argv[6] ?? 3);
const queries = process.argv[7] === undefined ? undefined : Number(process.argv[7]);
if (!isNormalization(mode)) throw new Error(`unknown mode ${mode}`);

const FCTRACES = fileURLToPath(new URL("../samples/fctraces20", import.meta.url));
const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const MiB = 2 ** 20;

const work = await mkdtemp(join(tmpdir(), "nbf-worker-bench-"));
try {
  const swc = join(work, "swc");
  await mkdir(swc);
  const files = (await readdir(FCTRACES)).filter((f) => f.endsWith(".swc"));
  for (let c = 0; c < copies; c++) for (const f of files) await copyFile(join(FCTRACES, f), join(swc, `c${String(c).padStart(4, "0")}_${f}`));
  const cacheStorage = new LocalStorage(join(work, "cache"));
  const built = await buildCache({
    inputs: await collectInputs([swc]),
    out: cacheStorage,
    params: { scale: 1, simplify: undefined, resample: 1, k: 5 },
    precision: "float32",
    threads: 2,
  });
  const cache = await openCache(cacheStorage);
  const { ids, points, cable } = cache.neurons;
  const selection = selectNeurons(
    Array.from(ids, (id, i) => ({ id, points: points[i], cable: cable[i] })),
    queries === undefined ? {} : { queryIds: Array.from(ids.subarray(0, queries)) },
  );
  const plan = planBins(selection, { bins, normalization: mode, keepSelf: false });
  const manifest = buildManifest({
    tool: { version: "bench" },
    cache: { uri: cache.uri, checksum: cache.checksum, params: cache.params },
    selection: {},
    scoring: { normalization: mode, useAlpha: false, smat: SMAT_FCWB },
    storage: { minScore: 0, topN: undefined, keepSelf: false, keepForwardReverse: false },
    balance: "cost",
    work: plan,
  });
  console.log(
    `data: fctraces20 x ${copies} = ${cache.count} neurons, ${cache.totalPoints} points; cache on disk ${(built.bytes / MiB).toFixed(1)} MiB ` +
      `(float32); ${queries ?? "all"} queries; ${mode}, ${bins} bins (${plan.layout} layout), measuring bin 0`,
  );

  const best = new Map<number, DoneMarker>();
  for (let rep = 0; rep < reps; rep++) {
    for (const threads of threadCounts) {
      const runDir = join(work, `run-${threads}-${rep}`);
      await writeManifest(new LocalStorage(runDir), manifest);
      const child = spawnSync(process.execPath, [MAIN, "worker", "--run", runDir, "--bin", "0", "--threads", String(threads)], {
        encoding: "utf8",
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
      });
      if (child.status !== 0) throw new Error(`worker failed: ${child.stderr}`);
      const m = JSON.parse(await readFile(join(runDir, "done", "0.json"), "utf8")) as DoneMarker;
      const prev = best.get(threads);
      if (prev === undefined || m.timings.scoring < prev.timings.scoring) best.set(threads, m);
    }
  }
  const results = threadCounts.map((threads) => ({ threads, m: best.get(threads)! }));

  const base = results[0].m;
  console.log(`bin 0: ${base.neurons.count} neurons, ${base.neurons.points} points, shared block ${(base.neurons.bytes / MiB).toFixed(2)} MiB, ${base.pairs} pairs`);
  console.log(`best of ${reps} per thread count`);
  console.log(
    "threads | trees+self s | scoring s | pairs/s (scoring) | speed-up | pairs/s (both phases) | speed-up | trees built (points) | peak RSS MiB | shard rows",
  );
  const rate = (m: DoneMarker): number => m.pairs / m.timings.scoring;
  const rateBoth = (m: DoneMarker): number => m.pairs / (m.timings.selfScores + m.timings.scoring);
  for (const { threads, m } of results) {
    console.log(
      [
        String(threads).padStart(7),
        m.timings.selfScores.toFixed(2).padStart(12),
        m.timings.scoring.toFixed(2).padStart(9),
        rate(m).toFixed(0).padStart(17),
        (rate(m) / rate(base)).toFixed(2).padStart(8),
        rateBoth(m).toFixed(0).padStart(21),
        (rateBoth(m) / rateBoth(base)).toFixed(2).padStart(8),
        `${m.trees.built} (${m.trees.points})`.padStart(20),
        (m.peakMemory / MiB).toFixed(0).padStart(12),
        String(m.shard.rows).padStart(10),
      ].join(" | "),
    );
  }
  console.log(
    `peak RSS / cache size: ${results.map(({ threads, m }) => `${threads} thread(s) ${(m.peakMemory / built.bytes).toFixed(1)}x`).join(", ")}`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
