/**
 * Writes N synthetic fragments spread through a fly-brain-sized volume (600 x 300 x 200 um)
 * as SWC files, for `run` with and without pruning:
 *
 *   node bench/spread-set.ts 500 /tmp/spread500
 *   nblast-fanout run --input /tmp/spread500 --out /tmp/s500 --normalization normalized
 *   nblast-fanout run --input /tmp/spread500 --out /tmp/s500-full --normalization normalized --no-prune
 *
 * Cable lengths follow FAFB's fragments (src/synth/fragments.ts); shapes are branching
 * random walks (src/synth/swc.ts). Deterministic from the seed (third argument, default 12).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FAFB_FRAGMENTS, generateFragmentSet, randomWalkSwc, Rng } from "../src/synth/index.ts";

const VOLUME = [600, 300, 200] as const;
const n = Number(process.argv[2] ?? 500);
const dir = process.argv[3] ?? `/tmp/spread${n}`;
const seed = Number(process.argv[4] ?? 12);
if (!(Number.isSafeInteger(n) && n > 0)) {
  process.stderr.write("usage: node bench/spread-set.ts N [DIR] [SEED]\n");
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const rng = new Rng(seed ^ 0x2545f491);
let cable = 0;
for (const f of generateFragmentSet(n, seed, FAFB_FRAGMENTS)) {
  const origin: [number, number, number] = [rng.next() * VOLUME[0], rng.next() * VOLUME[1], rng.next() * VOLUME[2]];
  writeFileSync(join(dir, `${f.id}.swc`), randomWalkSwc(f.cable, Number(f.id), { origin }));
  cable += f.cable;
}
process.stderr.write(`${n} fragments, ${(cable / 1000).toFixed(1)} mm of cable, in ${dir}\n`);
