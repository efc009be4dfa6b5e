/**
 * Plans in space order: the Hilbert curve is one, every candidate pair is planned exactly
 * once, only pairs whose boxes are the prune distance apart are skipped, exactly N bins,
 * and the manifest refuses a skip its own score matrix and storage rule do not prove.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SMAT_FCWB } from "../../src/nblast/smat.ts";
import { hilbert3 } from "../../src/plan/hilbert.ts";
import { buildManifest, parseManifest, serializeManifest } from "../../src/plan/manifest.ts";
import { plannedPairsInSpaceOrder, planSpatialBins } from "../../src/plan/spatial.ts";
import { forEachPair, planBinWork } from "../../src/plan/work.ts";
import type { Selection } from "../../src/plan/select.ts";
import { isSymmetric, type Normalization, type WorkPlan } from "../../src/plan/types.ts";
import { inputError } from "../helpers/input-error.ts";

describe("hilbert3", () => {
  it("visits every cell of the grid once, each step to a face neighbour", () => {
    for (const bits of [1, 2, 3, 4]) {
      const side = 1 << bits;
      const cells: [number, number, number][] = new Array(side ** 3);
      for (let x = 0; x < side; x++) {
        for (let y = 0; y < side; y++) {
          for (let z = 0; z < side; z++) {
            const h = hilbert3(x, y, z, bits);
            expect(cells[h]).toBeUndefined();
            cells[h] = [x, y, z];
          }
        }
      }
      for (let h = 1; h < side ** 3; h++) {
        const [a, b] = [cells[h - 1], cells[h]];
        expect(Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2])).toBe(1);
      }
    }
  });
});

/** n neurons with boxes from the rows (x, y, z, size, points), ids 10, 20, ... */
function neurons(rows: readonly (readonly [number, number, number, number, number])[]): { selection: Selection; boxes: Float64Array } {
  const boxes = new Float64Array(6 * rows.length);
  const list = rows.map(([x, y, z, s, p], i) => {
    boxes.set([x, y, z, x + s, y + s * 0.6, z + s * 0.4], 6 * i);
    return { id: BigInt(10 * (i + 1)), points: p, cable: p };
  });
  return { selection: { queries: list, targets: list, sameSet: true, droppedQueries: 0, droppedTargets: 0 }, boxes };
}

function gap2(b: Float64Array, i: number, j: number): number {
  let s = 0;
  for (let a = 0; a < 3; a++) {
    const g = Math.max(0, b[6 * j + a] - b[6 * i + 3 + a], b[6 * i + a] - b[6 * j + 3 + a]);
    s += g * g;
  }
  return s;
}

const rowsArb = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 5, max: 900 })),
  { minLength: 8, maxLength: 90 },
);
const modeArb = fc.constantFrom<Normalization>("raw", "normalized", "mean", "geometric-mean");

describe("planSpatialBins", () => {
  it("property: every pair closer than the prune distance is planned once, the rest are skipped and counted", () => {
    let planned = 0;
    fc.assert(
      fc.property(rowsArb, modeArb, fc.boolean(), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 }), (rows, mode, keepSelf, bins, g) => {
        const { selection, boxes } = neurons(rows);
        const n = rows.length;
        const D = 12;
        let w: WorkPlan;
        try {
          w = planSpatialBins(selection, { bins, normalization: mode, keepSelf, pruneDistance: D, boxes, groupSize: g });
        } catch (err) {
          // too few tiles for the bins, or no pair at all: said in words
          expect(inputError(() => { throw err; }).message).toMatch(/cannot make \d+ bins|no two neurons are closer/);
          return;
        }
        planned++;
        expect(w.bins.length).toBe(bins);
        expect(w.order).toBe("space");
        const pos = new Map<bigint, number>(selection.queries.map((q, i) => [q.id, i]));
        const seen = new Map<string, number>();
        for (let b = 0; b < bins; b++) {
          forEachPair(planBinWork(w, mode, b), (q, t) => {
            const key = isSymmetric(mode) && q > t ? `${t},${q}` : `${q},${t}`;
            seen.set(key, (seen.get(key) ?? 0) + 1);
          });
        }
        for (const c of seen.values()) expect(c).toBe(1);
        // every candidate (and self pair with keepSelf) is planned
        let total = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            if (isSymmetric(mode) && j < i) continue;
            if (i === j && !keepSelf) continue;
            total++;
            const key = `${selection.queries[i].id},${selection.queries[j].id}`;
            if (i === j || gap2(boxes, pos.get(selection.queries[i].id)!, pos.get(selection.queries[j].id)!) < D * D) {
              expect(seen.has(key), key).toBe(true);
            }
          }
        }
        expect(seen.size + w.skipped!.pairs).toBe(total);
        // and the manifest takes it, checking the same sums
        const m = buildManifest({
          tool: { version: "test" },
          cache: { uri: "/c", checksum: "sha256:x", params: { scale: 1, simplify: undefined, resample: 1, k: 5 } },
          selection: {},
          scoring: { normalization: mode, useAlpha: false, smat: SMAT_FCWB },
          storage: { minScore: 0, keepSelf, keepForwardReverse: false },
          balance: "cost",
          work: w,
        });
        expect(parseManifest(serializeManifest(m), "m.json").work.skipped).toEqual(w.skipped);
      }),
      { numRuns: 120, seed: 20261204 },
    );
    // most draws make a plan (the rest are refusals, checked above)
    expect(planned).toBeGreaterThan(80);
  });

  it("neighbours on the curve are neighbours in space: far groups are never planned", () => {
    // a 10 x 10 x 4 grid of small boxes 20 um apart: only each box's own tile neighbours pair
    const rows: [number, number, number, number, number][] = [];
    for (let x = 0; x < 10; x++) for (let y = 0; y < 10; y++) for (let z = 0; z < 4; z++) rows.push([20 * x, 20 * y, 20 * z, 5, 100]);
    const { selection, boxes } = neurons(rows);
    const w = planSpatialBins(selection, { bins: 4, normalization: "mean", keepSelf: false, pruneDistance: 16, boxes, groupSize: 8 });
    const n = rows.length;
    // candidates: face neighbours only (gap 15 um); diagonal ones are 15 * sqrt(2) apart
    expect(w.skipped!.pairs / ((n * (n - 1)) / 2)).toBeGreaterThan(0.9);
  });

  it("a manifest whose rule keeps every score may not skip pairs", () => {
    const { selection, boxes } = neurons([[0, 0, 0, 5, 50], [1, 1, 1, 5, 60], [200, 100, 50, 5, 70], [201, 100, 50, 5, 80]]);
    const w = planSpatialBins(selection, { bins: 1, normalization: "mean", keepSelf: false, pruneDistance: 12, boxes });
    const e = inputError(() =>
      buildManifest({
        tool: { version: "test" },
        cache: { uri: "/c", checksum: "sha256:x", params: { scale: 1, simplify: undefined, resample: 1, k: 5 } },
        selection: {},
        scoring: { normalization: "mean", useAlpha: false, smat: SMAT_FCWB },
        storage: { minScore: undefined, keepSelf: false, keepForwardReverse: false },
        balance: "cost",
        work: w,
      }),
    );
    expect(e.message).toMatch(/work\.skipped\.distance: 12 um is not a distance this run may skip pairs at: .*keep pairs at any distance/);
  });
});

describe("plannedPairsInSpaceOrder (plan --estimate)", () => {
  it("counting every group gives exactly the pairs planSpatialBins plans, and a sample scales near it", () => {
    // 3,000 neurons in clusters spread through a brain-sized volume.
    let s = 12345;
    const rnd = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const rows: [number, number, number, number, number][] = [];
    for (let c = 0; c < 60; c++) {
      const cx = rnd() * 600, cy = rnd() * 300, cz = rnd() * 200;
      for (let k = 0; k < 50; k++) rows.push([cx + rnd() * 40, cy + rnd() * 40, cz + rnd() * 30, 2 + rnd() * 25, 50]);
    }
    const { selection, boxes } = neurons(rows);
    const n = rows.length;
    const plan = planSpatialBins(selection, { bins: 2, normalization: "mean", keepSelf: false, pruneDistance: 12, boxes });
    const plannedOrdered = 2 * ((n * (n - 1)) / 2 - plan.skipped!.pairs);
    const all = plannedPairsInSpaceOrder(boxes, n, 12, Infinity);
    expect(all.countedGroups).toBe(all.groups);
    expect(all.allPairs).toBe(n * (n - 1));
    expect(all.plannedPairs).toBe(plannedOrdered);
    // The live tiles per row, times the rows, are the plan's tiles under both orders.
    const tiles = new Set<string>();
    const g = all.groupSize;
    for (const bin of plan.bins) {
      for (const k of bin.blocks) {
        for (let a = Math.floor(k.rows[0] / g); a <= Math.floor((k.rows[1] - 1) / g); a++) {
          for (let b = Math.floor(k.cols[0] / g); b <= Math.floor((k.cols[1] - 1) / g); b++) tiles.add(`${a},${b}`);
        }
      }
    }
    const diagonal = [...tiles].filter((t) => t.split(",")[0] === t.split(",")[1]).length;
    expect(all.liveColumnsPerRow * all.groups).toBeCloseTo(2 * tiles.size - diagonal, 9);
    const sampled = plannedPairsInSpaceOrder(boxes, n, 12, 8);
    expect(sampled.countedGroups).toBe(8);
    expect(Math.abs(sampled.plannedPairs / plannedOrdered - 1)).toBeLessThan(0.5);
  });
});
