import { afterAll, describe, expect, it } from "vitest";
import { SMAT_FCWB, type ScoreMatrix } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";
import { planBins } from "../../src/plan/bins.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { Normalization } from "../../src/plan/types.ts";
import { planBinWork } from "../../src/plan/work.ts";
import { RowsBuilder, sortRows, type ScoreRows } from "../../src/results/rows.ts";
import { Rng } from "../../src/synth/rng.ts";
import { planBinLayout } from "../../src/worker/bin-job.ts";
import { allocPacked, packedViews, setPackedNeuron } from "../../src/worker/packed.ts";
import { ScorePool, type ScoreJob } from "../../src/worker/score-pool.ts";

/** Random walks of 1 um steps started anywhere in a 60 um box: near pairs score, far pairs are hopeless. */
function walk(n: number, rng: Rng): Dotprops {
  const points = new Float64Array(3 * n), vect = new Float64Array(3 * n), alpha = new Float64Array(n);
  let x = rng.next() * 60, y = rng.next() * 60, z = rng.next() * 60;
  for (let i = 0; i < n; i++) {
    const dx = rng.normal() + 1, dy = rng.normal(), dz = rng.normal();
    const len = Math.hypot(dx, dy, dz);
    x += dx / len; y += dy / len; z += dz / len;
    points.set([x, y, z], 3 * i);
    vect.set([dx / len, dy / len, dz / len], 3 * i);
    alpha[i] = rng.next();
  }
  return { points, vect, alpha };
}

const rng = new Rng(12);
const ids = Array.from({ length: 24 }, (_, i) => BigInt(100 + i));
const dps = ids.map(() => walk(20 + Math.floor(rng.next() * 30), rng));

function job(mode: Normalization, smat: ScoreMatrix, prune: boolean, minScore: number | null): ScoreJob {
  const selection = selectNeurons(ids.map((id, i) => ({ id, points: dps[i].alpha.length, cable: 10 })));
  const work = planBinWork(planBins(selection, { bins: 1, normalization: mode, keepSelf: false }), mode, 0);
  const layout = planBinLayout(work);
  const packed = allocPacked(work.neurons, Array.from(work.neurons, (id) => dps[ids.indexOf(id)].alpha.length), 8);
  const v = packedViews(packed);
  work.neurons.forEach((id, i) => setPackedNeuron(v, i, dps[ids.indexOf(id)]));
  return {
    packed,
    selfIdx: layout.selfIdx,
    selfs: new Float64Array(new SharedArrayBuffer(8 * packed.count)).fill(NaN),
    rows: layout.rows,
    items: layout.items,
    itemCount: layout.itemCount,
    cols: layout.cols,
    mode,
    useAlpha: false,
    smat,
    upper: work.layout === "upper",
    diagonal: false,
    components: false,
    minScore,
    prune,
  };
}

function rowsOf(parts: ScoreRows[]): string[] {
  const b = new RowsBuilder(false);
  for (const p of parts) b.append(p);
  const r = sortRows(b.finish());
  return Array.from(r.score, (s, i) => `${r.queryId[i]},${r.targetId[i]},${s}`);
}

const pool = new ScorePool(2);
afterAll(() => pool.close());

/** FCWB with every cell shifted: positive cells reach further, so the prune distance moves. */
const CUSTOM: ScoreMatrix = { ...SMAT_FCWB, name: "shifted", values: Float64Array.from(SMAT_FCWB.values, (v) => v + 0.5) };

describe("pruning inside a bin", () => {
  for (const [mode, smat, minScore] of [
    ["normalized", SMAT_FCWB, 0],
    ["mean", SMAT_FCWB, 0],
    ["raw", SMAT_FCWB, 0],
    ["min", SMAT_FCWB, 0.05],
    ["geometric-mean", SMAT_FCWB, 0],
    ["normalized", CUSTOM, 0.2],
  ] as const) {
    it(`stores the same rows with and without pruning (${mode}, ${smat.name}, min ${minScore})`, async () => {
      const off = await pool.run(job(mode, smat, false, minScore));
      const on = await pool.run(job(mode, smat, true, minScore));
      expect(off.pruned).toBe(0);
      expect(on.pairs).toBe(off.pairs);
      expect(on.pruned).toBeGreaterThan(0);
      expect(rowsOf(on.rows)).toEqual(rowsOf(off.rows));
      expect(rowsOf(on.rows).length).toBeGreaterThan(0);
    });
  }

  it("never prunes when every score is kept (no minScore: --keep-all)", async () => {
    const r = await pool.run(job("mean", SMAT_FCWB, true, null));
    expect(r.pruned).toBe(0);
  });
});
