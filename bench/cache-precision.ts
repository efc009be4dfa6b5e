/**
 * What float32 cache storage changes in NBLAST scores, against float64: builds both caches,
 * reads them back and scores all ordered pairs, on the kcs20 Kenyon cells (points, k = 5;
 * their coordinates came from float32 data already) and on fctraces20 (SWC, full double
 * precision coordinates, resampled at 1 um, k = 5).
 *
 *   node bench/cache-precision.ts [more folders of neurons, scored with resample none, k 5]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCache, openCache } from "../src/cache/index.ts";
import type { Precision } from "../src/cache/index.ts";
import { collectInputs } from "../src/inputs/index.ts";
import { scoreAllByAll } from "../src/nblast/score.ts";
import type { Normalization } from "../src/nblast/score.ts";
import type { Dotprops } from "../src/nblast/types.ts";
import { LocalStorage } from "../src/storage/local.ts";

const DATASETS = [
  { name: "kcs20", dir: fileURLToPath(new URL("../samples/kcs20", import.meta.url)), params: { scale: 1, simplify: undefined, resample: undefined, k: 5 } },
  { name: "fctraces20", dir: fileURLToPath(new URL("../samples/fctraces20", import.meta.url)), params: { scale: 1, simplify: undefined, resample: 1, k: 5 } },
  ...process.argv.slice(2).map((dir) => ({ name: dir, dir, params: { scale: 1, simplify: undefined, resample: undefined, k: 5 } })),
];

const work = await mkdtemp(join(tmpdir(), "nbf-cache-precision-"));
try {
for (const set of DATASETS) {
  const sources = await collectInputs([set.dir]);
  const read = async (precision: Precision): Promise<Dotprops[]> => {
    const out = new LocalStorage(join(work, set.name, precision));
    await buildCache({ inputs: sources, out, params: set.params, precision, threads: 2 });
    return (await openCache(out)).readAll();
  };
  const f64 = await read("float64");
  const f32 = await read("float32");
  let points = 0;
  for (const d of f64) points += d.alpha.length;
  console.log(`\n${set.name}: ${f64.length} neurons, ${points} points, ${f64.length ** 2} ordered pairs (self pairs included)`);
  console.log("mode               alpha  max rel diff   max abs diff   pairs identical   stored float32 identical");
  for (const useAlpha of [false, true]) {
    for (const normalization of ["raw", "normalized", "mean"] as Normalization[]) {
      const a = scoreAllByAll(f64, f64, { useAlpha, normalization });
      const b = scoreAllByAll(f32, f32, { useAlpha, normalization });
      let maxRel = 0;
      let maxAbs = 0;
      let same = 0;
      let stored = 0;
      for (let i = 0; i < a.length; i++) {
        const d = Math.abs(a[i] - b[i]);
        if (d === 0) same++;
        if (Object.is(Math.fround(a[i]), Math.fround(b[i]))) stored++;
        maxAbs = Math.max(maxAbs, d);
        if (a[i] !== 0) maxRel = Math.max(maxRel, d / Math.abs(a[i]));
      }
      console.log(
        `${normalization.padEnd(18)} ${String(useAlpha).padEnd(6)} ${maxRel.toExponential(2).padEnd(14)} ${maxAbs.toExponential(2).padEnd(14)} ${`${same}/${a.length}`.padEnd(17)} ${stored}/${a.length}`,
      );
    }
  }
}
} finally {
  await rm(work, { recursive: true, force: true });
}
