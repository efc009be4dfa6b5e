import { describe, expect, it } from "vitest";
import { planBins } from "../../src/plan/bins.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { Normalization } from "../../src/plan/types.ts";
import { forEachPair, planBinWork } from "../../src/plan/work.ts";
import { generateFragmentSet } from "../../src/synth/fragments.ts";
import { isSymmetricMode, prepareTarget, prepareTargetInto, preparedTargetBytes, preparedTargetFrom, rawScore } from "../../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB } from "../../src/nblast/smat.ts";
import { Rng } from "../../src/synth/rng.ts";
import { MIN_ITEM_PAIRS, TARGET_ITEMS, binPairCount, neededTrees, planBinLayout } from "../../src/worker/bin-job.ts";
import { allocPacked, allocTreeBlock, packedNeuron, packedViews, setPackedNeuron } from "../../src/worker/packed.ts";

interface Case {
  n: number;
  bins: number;
  normalization: Normalization;
  keepSelf: boolean;
  balance?: "cost" | "cable";
  subsets?: boolean;
}

const cases: Case[] = [
  { n: 40, bins: 7, normalization: "mean", keepSelf: false },
  { n: 40, bins: 7, normalization: "mean", keepSelf: true },
  { n: 30, bins: 5, normalization: "normalized", keepSelf: false },
  { n: 30, bins: 5, normalization: "raw", keepSelf: true },
  { n: 30, bins: 4, normalization: "min", keepSelf: false, balance: "cable" },
  { n: 30, bins: 6, normalization: "max", keepSelf: false, subsets: true },
  { n: 600, bins: 2, normalization: "normalized", keepSelf: false }, // rows longer than one item
];

describe("planBinLayout", () => {
  for (const c of cases) {
    it(`expands to exactly forEachPair's pairs (${JSON.stringify(c)})`, () => {
      const all = generateFragmentSet(c.n, 11);
      const ids = all.map((x) => x.id);
      const selection = selectNeurons(all, c.subsets ? { queryIds: ids.slice(0, 20), targetIds: ids.slice(10) } : {});
      const plan = planBins(selection, { bins: c.bins, normalization: c.normalization, keepSelf: c.keepSelf, balance: c.balance });
      for (let b = 0; b < c.bins; b++) {
        const work = planBinWork(plan, c.normalization, b);
        const layout = planBinLayout(work);
        const want: string[] = [];
        forEachPair(work, (q, t) => want.push(`${q},${t}`));
        const got: string[] = [];
        let maxItem = 0;
        let badSelf = 0;
        for (let it = 0; it < layout.itemCount; it++) {
          const [e0, e1, c0, c1] = layout.items.subarray(4 * it, 4 * it + 4);
          let inItem = 0;
          for (let e = e0; e < e1; e++) {
            const [q, k0, k1, selfK] = layout.rows.subarray(4 * e, 4 * e + 4);
            for (let k = Math.max(k0, c0); k < Math.min(k1, c1); k++) {
              const t = layout.cols[k];
              if ((t === q && !work.diagonal) !== (k === selfK)) badSelf++;
              if (t === q && !work.diagonal) continue; // the threads skip it the same way
              got.push(`${work.neurons[q]},${work.neurons[t]}`);
              inItem++;
            }
          }
          expect(inItem).toBeGreaterThan(0);
          maxItem = Math.max(maxItem, inItem);
        }
        expect(badSelf).toBe(0);
        // tiles of about pairs / TARGET_ITEMS pairs (rounding a square side, or a whole column)
        expect(maxItem).toBeLessThanOrEqual(2 * Math.max(MIN_ITEM_PAIRS, Math.ceil(want.length / TARGET_ITEMS)));
        expect(got.sort()).toEqual(want.sort());
        expect(layout.pairs).toBe(want.length);
        expect(binPairCount(work)).toBe(want.length);
        expect(Array.from(layout.selfIdx, (i) => work.neurons[i])).toEqual([...work.selfScores]);
        // trees: exactly those the pairs search (targets; queries too when scored both ways) and the self scores use
        const trees = new Set<bigint>(work.selfScores);
        forEachPair(work, (q, t) => {
          trees.add(t);
          if (isSymmetricMode(c.normalization)) trees.add(q);
        });
        const need = neededTrees(work.neurons.length, layout, isSymmetricMode(c.normalization));
        expect(Array.from(need, (i) => work.neurons[i])).toEqual([...trees].sort((a, b) => (a < b ? -1 : 1)));
      }
    });
  }
});

describe("packed neurons", () => {
  for (const bpv of [4, 8] as const) {
    it(`round-trip through one shared block (${bpv * 8}-bit)`, () => {
      const counts = [3, 1, 5];
      const Arr = bpv === 4 ? Float32Array : Float64Array;
      const make = (n: number, f: (i: number) => number): Float32Array | Float64Array =>
        bpv === 4 ? Float32Array.from({ length: n }, (_, i) => f(i)) : Float64Array.from({ length: n }, (_, i) => f(i));
      const dps = counts.map((n, k) => ({
        points: make(3 * n, (i) => k * 100 + i + 0.1),
        vect: make(3 * n, (i) => -i / 7),
        alpha: make(n, (i) => i / 3),
      }));
      const packed = allocPacked(BigInt64Array.from([10n, 20n, 9223372036854775807n]), counts, bpv);
      expect(packed.buffer).toBeInstanceOf(SharedArrayBuffer);
      const v = packedViews(packed);
      dps.forEach((d, i) => setPackedNeuron(v, i, d));
      const again = packedViews({ ...packed }); // as a thread sees it
      expect(Array.from(again.ids)).toEqual([10n, 20n, 9223372036854775807n]);
      dps.forEach((d, i) => {
        const got = packedNeuron(again, i);
        expect(got.points).toBeInstanceOf(Arr);
        expect(got.points).toEqual(d.points);
        expect(got.vect).toEqual(d.vect);
        expect(got.alpha).toEqual(d.alpha);
      });
      expect(() => setPackedNeuron(v, 1, dps[0])).toThrow(/3 points where the index says 1/);
    });
  }
});

describe("tree block", () => {
  it("gives each needed neuron an 8-aligned slot of its own; trees built there score as prepareTarget's, from any view", () => {
    const rng = new Rng(9);
    const counts = [30, 1, 200, 57, 0, 120];
    const dps = counts.map((n) => {
      const f = (m: number, g: () => number): Float32Array => Float32Array.from({ length: m }, g);
      return { points: f(3 * n, () => rng.next() * 30), vect: f(3 * n, () => rng.normal() / 2), alpha: f(n, () => rng.next()) };
    });
    const packed = allocPacked(BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]), counts, 4);
    const v = packedViews(packed);
    dps.forEach((d, i) => setPackedNeuron(v, i, d));
    const block = allocTreeBlock(v, [5, 0, 2, 3, 1, 2]); // 4 not needed; 2 named twice
    expect(block.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(block.offsets[4]).toBe(-1);
    expect(Array.from(block.order)).toEqual([2, 5, 3, 0, 1]); // largest first
    expect(block.points).toBe(30 + 1 + 200 + 57 + 120);
    const byStart = [...block.order].sort((a, b) => block.offsets[a] - block.offsets[b]);
    let end = 0;
    for (const i of byStart) {
      expect(block.offsets[i] % 8).toBe(0);
      expect(block.offsets[i]).toBeGreaterThanOrEqual(end);
      end = block.offsets[i] + preparedTargetBytes(counts[i]);
    }
    expect(block.buffer.byteLength).toBe(end);
    new Uint8Array(block.buffer).fill(0x5a);
    for (const i of block.order) prepareTargetInto(packedNeuron(v, i), block.buffer, block.offsets[i]);
    const other = packedViews({ ...packed }); // as another thread sees it
    for (const q of [0, 2, 5]) {
      for (const t of block.order) {
        const shared = preparedTargetFrom(packedNeuron(other, t), block.buffer, block.offsets[t]);
        for (const useAlpha of [false, true]) {
          const smat = SMAT_ALPHA_FCWB;
          expect(rawScore(packedNeuron(other, q), shared, smat, useAlpha)).toBe(rawScore(dps[q], prepareTarget(dps[t]), smat, useAlpha));
        }
      }
    }
    expect(() => preparedTargetFrom(packedNeuron(other, 0), block.buffer, block.offsets[2])).toThrow(/a tree of 200 points for dotprops of 30/);
  });
});
