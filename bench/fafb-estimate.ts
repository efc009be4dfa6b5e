/**
 * `plan --estimate` at FAFB's scale: 2.3 million synthetic fragments (FAFB's cable lengths,
 * src/synth/fragments.ts; random-walk shapes, src/synth/swc.ts) spread through a
 * fly-brain-sized volume (600 x 300 x 200 um), estimated with the same code as
 * `plan --estimate` (candidates.ts, calibrate.ts, estimate.ts) and printed beside
 * CATMAID's figure for FAFB: 50,000 core-hours (10,000 tasks of 15 minutes on 20 cores).
 *
 * The population is only boxes and point counts (no cache of 2.3 M neurons is built);
 * the calibration runs on real dotprops of the fragments whose roots fall in a 60 um cube
 * at the centre (the density of the whole set), queried from its middle.
 *
 *   node bench/fafb-estimate.ts [neurons=2336920] [bins=1000] [spot USD per vCPU-hour=0.02]
 */
import { boundingBox } from "../src/nblast/bounds.ts";
import { computeDotprops } from "../src/nblast/dotprops.ts";
import { SMAT_FCWB } from "../src/nblast/smat.ts";
import type { Dotprops } from "../src/nblast/types.ts";
import { calibrate } from "../src/plan/calibrate.ts";
import { countCandidates, forEachCandidate, pruneDistanceOf, sampleIndices, targetIndex } from "../src/plan/candidates.ts";
import { estimate, formatEstimate } from "../src/plan/estimate.ts";
import { plannedPairsInSpaceOrder } from "../src/plan/spatial.ts";
import { drawCable, FAFB_FRAGMENTS, randomWalk, Rng } from "../src/synth/index.ts";

const n = Number(process.argv[2] ?? 2_336_920);
const bins = Number(process.argv[3] ?? 1000);
const spot = Number(process.argv[4] ?? 0.02);
const VOLUME = [600, 300, 200] as const;
const CUBE = 60;
const centre = VOLUME.map((v) => v / 2);

const t0 = performance.now();
const rng = new Rng(2336920);
const boxes = new Float64Array(6 * n);
const points = new Uint32Array(n);
const dense: number[] = []; // fragments rooted in the central cube
const walks = new Map<number, number[]>();
const box = new Float64Array(6);
let cable = 0;
for (let i = 0; i < n; i++) {
  const c = drawCable(rng, FAFB_FRAGMENTS);
  const origin: [number, number, number] = [rng.next() * VOLUME[0], rng.next() * VOLUME[1], rng.next() * VOLUME[2]];
  const w = randomWalk(c, 1 + i, { origin });
  const xyz = Float64Array.from(w.xyz);
  boundingBox(xyz, box);
  boxes.set(box, 6 * i);
  points[i] = w.parent.length; // nodes about 1 um apart: about what 1 um resampling gives
  cable += c;
  if (origin.every((x, a) => Math.abs(x - centre[a]) < CUBE / 2)) {
    dense.push(i);
    walks.set(i, w.xyz);
  }
}
const generated = (performance.now() - t0) / 1000;
let totalPoints = 0;
for (let i = 0; i < n; i++) totalPoints += points[i];
console.log(
  `${n.toLocaleString("en-US")} fragments, ${(cable / 1e6).toFixed(2)} m of cable, ${totalPoints.toLocaleString("en-US")} points, generated in ${generated.toFixed(1)} s`,
);

const all = Int32Array.from({ length: n }, (_, i) => i);
const pruneDistance = pruneDistanceOf(SMAT_FCWB, { minScore: 0 }, "mean");
const t1 = performance.now();
const counts = countCandidates({ boxes, points }, { queries: all, targets: all, sameSet: true, pruneDistance, sample: 4000 });
console.log(`candidate pairs counted on ${counts.countedQueries} queries in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
// What a plan in space order (the default for this run) holds: Hilbert groups' live tiles.
const t3 = performance.now();
const spaceOrder = plannedPairsInSpaceOrder(boxes, n, pruneDistance);
console.log(`space-order tiles counted on ${spaceOrder.countedGroups} of ${spaceOrder.groups} groups in ${((performance.now() - t3) / 1000).toFixed(1)} s`);

// Calibration: dotprops of the central cube's fragments; queries from its middle third,
// each with up to 25 of its candidates in the cube; far pairs from the same neurons.
const t2 = performance.now();
const denseIdx = Int32Array.from(dense);
const index = targetIndex({ boxes, points }, denseIdx);
const middle = dense.filter((i) => [0, 1, 2].every((a) => Math.abs((boxes[6 * i + a] + boxes[6 * i + 3 + a]) / 2 - centre[a]) < CUBE / 6));
const slotOf = new Map<number, number>();
const slot = (i: number): number => {
  let s = slotOf.get(i);
  if (s === undefined) slotOf.set(i, (s = slotOf.size));
  return s;
};
const pairs: number[] = [];
for (const k of sampleIndices(middle.length, 40, 3)) {
  const q = middle[k];
  const found: number[] = [];
  forEachCandidate({ boxes, points }, index, denseIdx, q, pruneDistance, true, (j) => found.push(denseIdx[j]));
  for (const j of sampleIndices(found.length, 25, 5 + k)) pairs.push(slot(q), slot(found[j]));
}
const far: number[] = [];
const members = [...slotOf.keys()];
for (const i of members) {
  for (const j of members) {
    let g2 = 0;
    for (let a = 0; a < 3; a++) {
      const g = Math.max(0, boxes[6 * j + a] - boxes[6 * i + 3 + a], boxes[6 * i + a] - boxes[6 * j + 3 + a]);
      g2 += g * g;
    }
    if (i !== j && g2 >= pruneDistance ** 2 && far.length < 20_000) far.push(slotOf.get(i)!, slotOf.get(j)!);
  }
}
const dotprops = new Array<Dotprops>(slotOf.size);
for (const [i, s] of slotOf) dotprops[s] = computeDotprops(Float64Array.from(walks.get(i)!));
const calibration = calibrate({
  dotprops,
  pairs: Int32Array.from(pairs),
  farPairs: Int32Array.from(far),
  smat: SMAT_FCWB,
  normalization: "normalized",
  useAlpha: false,
  minScore: 0,
  seconds: 3,
});
console.log(`calibrated on ${dotprops.length} fragments of the central ${CUBE} um cube in ${((performance.now() - t2) / 1000).toFixed(1)} s\n`);

const input = { counts, calibration, queries: n, targets: n, targetPoints: totalPoints, selfPoints: totalPoints, bins, pairing: "forward" as const, spotPrice: spot };
const e = estimate({ ...input, spaceOrder });
const flat = estimate(input);
process.stdout.write(formatEstimate(e));
const catmaid = 10_000 * 0.25 * 20;
const h = (x: number): string => (x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toPrecision(3));
console.log(`\nCATMAID's guide for FAFB: ${catmaid.toLocaleString("en-US")} core-hours (10,000 tasks x 15 min x 20 cores); this estimate: ${h(e.coreHours.total)} (${(catmaid / e.coreHours.total).toFixed(0)}x less)`);
console.log(
  `planned with --no-spatial (every pair in a bin, ruled out there by its box): ${h(flat.coreHours.total)} core-hours, ` +
    `of which ${h(flat.coreHours.far)} box tests of far pairs against ${h(e.coreHours.far)} in space order`,
);
