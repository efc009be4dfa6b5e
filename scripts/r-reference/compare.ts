/**
 * How far the engine is from R on the R reference fixtures, in figures (the test
 * test/nblast/r-reference.test.ts asserts the same comparisons pass/fail):
 *
 *   node scripts/r-reference/compare.ts [SET[/CONFIG] ...]
 *
 * Per set x config: neurons whose preprocessed points differ from R's; points whose
 * tangent (1 - |dot| > 1e-12) or alpha (> 1e-12) differ, of all points; and per score
 * mode (with and without alpha) the ordered pairs outside 1e-12, scored from R's own
 * dotprops ("from R dp") and end to end from the skeletons ("end to end"), with the
 * worst relative difference.
 */
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import {
  compareDotprops,
  comparePoints,
  compareScores,
  projectPoints,
  rConfigs,
  readRDotprops,
  readRScores,
  type ScoreDiff,
} from "../../test/helpers/r-reference.ts";

const filters = process.argv.slice(2);
const chosen = rConfigs().filter((c) => filters.length === 0 || filters.some((f) => f === c.set || f === `${c.set}/${c.config}`));

const fmt = (x: number): string => (x === 0 ? "0" : x.toExponential(1));

function scoreSummary(diffs: ScoreDiff[], pairs: number): string {
  if (diffs.length === 0) return `all ${pairs} pairs x 14 ok`;
  return diffs.map((d) => `${d.mode}${d.useAlpha ? "+a" : ""} ${d.differing}/${d.pairs} (${fmt(d.worst)})`).join(", ");
}

for (const cfg of chosen) {
  const r = readRDotprops(cfg.set, cfg.config);
  const names = [...r.keys()];
  let pointDiffs = 0;
  let tangentBad = 0, alphaBad = 0, worstT = 0, worstA = 0, total = 0;
  const ours = names.map((n) => {
    const rd = r.get(n)!;
    const pts = projectPoints(cfg.set, n, cfg.params);
    const pd = comparePoints(n, rd.points as Float64Array, pts);
    if (pd !== undefined) pointDiffs++;
    const dp = computeDotprops(pts, cfg.params.k);
    const d = compareDotprops(n, rd, pd === undefined ? dp : computeDotprops(rd.points, cfg.params.k));
    total += rd.alpha.length;
    if (d !== undefined) {
      tangentBad += d.tangents;
      alphaBad += d.alphas;
      worstT = Math.max(worstT, d.worstTangent);
      worstA = Math.max(worstA, d.worstAlpha);
    }
    return dp;
  });
  const scores = readRScores(cfg.set, cfg.config);
  const pairs = names.length * names.length;
  console.log(`${cfg.set}/${cfg.config}: ${names.length} neurons, ${total} points`);
  console.log(`  points differ from R in ${pointDiffs}/${names.length} neurons`);
  console.log(`  tangents differ at ${tangentBad}/${total} points (worst 1-|dot| ${fmt(worstT)}), alpha at ${alphaBad}/${total} (worst ${fmt(worstA)})`);
  console.log(`  scores from R dp: ${scoreSummary(compareScores(scores, names.map((n) => r.get(n)!)), pairs)}`);
  console.log(`  scores end to end: ${scoreSummary(compareScores(scores, ours), pairs)}`);
}
