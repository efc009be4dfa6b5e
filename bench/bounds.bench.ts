/**
 * How often the score bounds of src/nblast/bounds.ts prove a pair's raw score below 0 (the
 * default storage rule), and what they cost, on every ordered pair of a folder of dotprops
 * (default: synth200 from the shared folder, else kcs20). Every bound is also checked
 * against the pair's raw score (it must never be below it).
 *
 *   node bench/bounds.bench.ts [DOTPROPS_DIR] [--alpha] [--threshold 0]
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { alwaysCounted, boundingBox, ScoreBounds, validForAlpha } from "../src/nblast/bounds.ts";
import { parseDotpropsCsv } from "../src/nblast/dotprops-csv.ts";
import { prepareTarget, rawScore } from "../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../src/nblast/smat.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const useAlpha = args.includes("--alpha");
const ti = args.indexOf("--threshold");
const threshold = ti >= 0 ? Number(args[ti + 1]) : 0;
const positional = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--threshold");
const shared = [join(ROOT, "../shared"), join(ROOT, "../../shared")].map((d) => join(d, "reference/synth200")).find((d) => existsSync(d));
const dir = positional[0] ?? shared ?? join(ROOT, "test/fixtures/reference/kcs20/dotprops");

const neurons = readdirSync(dir)
  .filter((f) => f.endsWith(".csv"))
  .sort()
  .map((f) => parseDotpropsCsv(readFileSync(join(dir, f), "utf8"), f));
const n = neurons.length;
const smat = useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB;
const sb = new ScoreBounds(smat);
const prepared = neurons.map((d) => prepareTarget(d));
const boxes = neurons.map((d) => boundingBox(d.points));
const valid = neurons.map((d) => validForAlpha(d));
const DEPTHS = [1, 2, 3, 4, 5, 6];

let pairs = 0;
let negative = 0;
let violations = 0;
let gapProved = 0;
const depthProved = DEPTHS.map(() => 0);
let cascadeProved = 0;
let provedPositive = 0;
const t0 = performance.now();
let scoreMs = 0;
const gapMs = { t: 0 };
const depthMs = DEPTHS.map(() => 0);
let points = 0;
for (let q = 0; q < n; q++) {
  const qd = neurons[q];
  for (let t = 0; t < n; t++) {
    if (t === q) continue;
    pairs++;
    points += qd.alpha.length;
    const counted = alwaysCounted(useAlpha, valid[q], valid[t]);
    let c = performance.now();
    const raw = rawScore(prepared[q], prepared[t], smat, useAlpha);
    scoreMs += performance.now() - c;
    if (raw < threshold) negative++;
    c = performance.now();
    const gap = sb.gapBound(qd.alpha.length, boxes[q], boxes[t], counted);
    gapMs.t += performance.now() - c;
    if (gap < raw) violations++;
    let best = gap;
    if (gap < threshold) gapProved++;
    DEPTHS.forEach((d, k) => {
      const c1 = performance.now();
      const b = sb.pointBound(prepared[q].tree.coords, prepared[t].tree, d, counted);
      depthMs[k] += performance.now() - c1;
      if (b < raw) violations++;
      if (b < threshold) depthProved[k]++;
      best = Math.min(best, b);
    });
    if (best < threshold) {
      cascadeProved++;
      if (raw >= threshold) provedPositive++;
    }
  }
}
const pct = (x: number, of = pairs): string => `${((100 * x) / of).toFixed(1)}%`;
console.log(`bounds bench: ${basename(dir)}, ${n} neurons, ${pairs} ordered pairs, ${useAlpha ? "alpha-FCWB with alpha" : "FCWB"}, threshold ${threshold}`);
console.log(`  raw score < ${threshold}: ${negative} pairs (${pct(negative)}); bound below its raw score: ${violations} times (must be 0); proven but not below: ${provedPositive} (must be 0)`);
console.log(`  kernel (exact scores): ${(scoreMs / pairs * 1000).toFixed(1)} us per pair`);
console.log(`  box gap: proves ${gapProved} pairs (${pct(gapProved)}; ${pct(gapProved, negative)} of those below), ${(gapMs.t / pairs * 1e6).toFixed(0)} ns per pair`);
DEPTHS.forEach((d, k) =>
  console.log(
    `  point distances to the target tree's boxes at depth ${d} (<= ${2 ** d} boxes): proves ${depthProved[k]} (${pct(depthProved[k])}; ${pct(depthProved[k], negative)} of those below), ` +
      `${(depthMs[k] / pairs * 1000).toFixed(1)} us per pair = ${((depthMs[k] * 1e6) / points).toFixed(0)} ns per query point`,
  ),
);
console.log(`  any of them: ${cascadeProved} (${pct(cascadeProved)}; ${pct(cascadeProved, negative)} of those below); total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
