/**
 * Dotprops cache throughput: build on 2 threads from the fctraces20 SWCs replicated, then
 * load from local disk (openCache + readAll, and neuron-by-neuron reads).
 *
 *   node bench/cache.bench.ts [copies=50] [threads=2]
 */
import { copyFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCache, openCache } from "../src/cache/index.ts";
import type { Precision } from "../src/cache/index.ts";
import { collectInputs } from "../src/inputs/index.ts";
import { LocalStorage } from "../src/storage/local.ts";

const copies = Number(process.argv[2] ?? 50);
const threads = Number(process.argv[3] ?? 2);
const FCTRACES = fileURLToPath(new URL("../samples/fctraces20", import.meta.url));
const PARAMS = { scale: 1, simplify: undefined, resample: 1, k: 5 };

const work = await mkdtemp(join(tmpdir(), "nbf-cache-bench-"));
try {
  const swcs = (await readdir(FCTRACES)).filter((f) => f.endsWith(".swc"));
  const inputDir = join(work, "swc");
  await mkdir(inputDir);
  for (let c = 0; c < copies; c++) {
    for (const f of swcs) await copyFile(join(FCTRACES, f), join(inputDir, `c${String(c).padStart(4, "0")}_${f}`));
  }
  const sources = await collectInputs([inputDir]);
  console.log(`inputs: ${sources.length} SWC files (fctraces20 x ${copies}), ${threads} threads`);

  for (const precision of ["float32", "float64"] as Precision[]) {
    const out = new LocalStorage(join(work, precision));
    const t0 = performance.now();
    const s = await buildCache({ inputs: sources, out, params: PARAMS, precision, threads });
    const buildSec = (performance.now() - t0) / 1000;
    console.log(
      `build ${precision}: ${s.neurons} neurons, ${s.totalPoints} points in ${buildSec.toFixed(2)} s: ` +
        `${(s.neurons / buildSec).toFixed(0)} neurons/s, ${(s.totalPoints / buildSec / 1e6).toFixed(2)} M points/s, ` +
        `${(s.bytes / 2 ** 20).toFixed(1)} MiB`,
    );

    // Load: best of 3, the files are in the page cache after the first.
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t1 = performance.now();
      const reader = await openCache(out);
      const all = await reader.readAll();
      if (all.length !== s.neurons) throw new Error("readAll lost neurons");
      best = Math.min(best, (performance.now() - t1) / 1000);
    }
    const mb = s.bytes / 1e6;
    console.log(
      `load ${precision} (openCache + readAll): ${best.toFixed(3)} s: ${(mb / best).toFixed(0)} MB/s, ${(s.neurons / best).toFixed(0)} neurons/s`,
    );
    // The same without the per-neuron checksums, for their cost (every real read checks them).
    let unchecked = Infinity;
    for (let r = 0; r < 3; r++) {
      const t1 = performance.now();
      await (await openCache(out)).readAll({ verify: false });
      unchecked = Math.min(unchecked, (performance.now() - t1) / 1000);
    }
    console.log(`load ${precision} (openCache + readAll, checksums not checked): ${unchecked.toFixed(3)} s: ${(mb / unchecked).toFixed(0)} MB/s`);

    const reader = await openCache(out);
    const t2 = performance.now();
    let points = 0;
    for (const id of reader.neurons.ids) points += (await reader.read(id)).alpha.length;
    const perSec = (performance.now() - t2) / 1000;
    if (points !== s.totalPoints) throw new Error("per-neuron reads lost points");
    console.log(
      `load ${precision} (read(id) one by one): ${perSec.toFixed(3)} s: ${(mb / perSec).toFixed(0)} MB/s, ` +
        `${(reader.count / perSec).toFixed(0)} neurons/s`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
