import { afterAll, describe, expect, it } from "vitest";
import { scoreAllByAll } from "../../src/nblast/score.ts";
import { SMAT_FCWB, type ScoreMatrix } from "../../src/nblast/smat.ts";
import type { Dotprops } from "../../src/nblast/types.ts";
import { planBins } from "../../src/plan/bins.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { Normalization } from "../../src/plan/types.ts";
import { planBinWork } from "../../src/plan/work.ts";
import { sortRows } from "../../src/results/rows.ts";
import { Rng } from "../../src/synth/rng.ts";
import { planBinLayout } from "../../src/worker/bin-job.ts";
import { allocPacked, packedViews, setPackedNeuron } from "../../src/worker/packed.ts";
import { ScorePool, type ScoreJob } from "../../src/worker/score-pool.ts";
import { RowsBuilder, type ScoreRows } from "../../src/results/rows.ts";

/** Random-walk dotprops in a 20 um box, so neurons overlap. */
function randomDotprops(n: number, rng: Rng): Dotprops {
  const points = new Float64Array(3 * n);
  const vect = new Float64Array(3 * n);
  const alpha = new Float64Array(n);
  let x = rng.next() * 20, y = rng.next() * 20, z = rng.next() * 20;
  for (let i = 0; i < n; i++) {
    const dx = rng.normal(), dy = rng.normal(), dz = rng.normal();
    const len = Math.hypot(dx, dy, dz);
    x += dx / len; y += dy / len; z += dz / len;
    points.set([x, y, z], 3 * i);
    vect.set([dx / len, dy / len, dz / len], 3 * i);
    alpha[i] = rng.next();
  }
  return { points, vect, alpha };
}

const rng = new Rng(3);
// Ids past 2^53 go through the threads' shared block and rows unchanged.
const ids = [3n, 5n, 9007199254740993n, 720575940621039145n, 720575940621039146n, 9223372036854775807n];
const dps = ids.map((_, i) => randomDotprops(40 + 17 * i, rng));

function job(mode: Normalization, smat: ScoreMatrix, bins = 1, bin = 0): ScoreJob {
  const selection = selectNeurons(ids.map((id, i) => ({ id, points: dps[i].alpha.length, cable: 10 })));
  const work = planBinWork(planBins(selection, { bins, normalization: mode, keepSelf: false }), mode, bin);
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
    minScore: null,
  };
}

function reference(mode: Normalization): string[] {
  const s = scoreAllByAll(dps, dps, { normalization: mode });
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) for (let j = 0; j < ids.length; j++) if (i !== j) out.push(`${ids[i]},${ids[j]},${Math.fround(s[i * ids.length + j])}`);
  return out.sort();
}

function rowsOf(parts: ScoreRows[]): string[] {
  const b = new RowsBuilder(false);
  for (const p of parts) b.append(p);
  const r = sortRows(b.finish());
  return Array.from(r.score, (s, i) => `${r.queryId[i]},${r.targetId[i]},${s}`).sort();
}

const pool = new ScorePool(2);
afterAll(() => pool.close());

describe("ScorePool", () => {
  it("scores bins on shared memory exactly as scoreAllByAll, bin after bin", async () => {
    for (const mode of ["raw", "normalized", "harmonic-mean"] as const) {
      const r = await pool.run(job(mode, SMAT_FCWB));
      expect(r.rows).toHaveLength(2);
      expect(rowsOf(r.rows)).toEqual(reference(mode));
      expect(r.pairs).toBe(mode === "harmonic-mean" ? 15 : 30);
      // each tree once across both threads (all-by-all: every neuron is a target)
      expect(r.trees).toBe(6);
      expect(r.treePoints).toBe(dps.reduce((a, d) => a + d.alpha.length, 0));
    }
  });

  it("fails a bin whose scores overflow float32, naming the pair, and stays usable", async () => {
    const huge: ScoreMatrix = { ...SMAT_FCWB, name: "huge", values: SMAT_FCWB.values.map(() => 1e300) };
    await expect(pool.run(job("raw", huge))).rejects.toThrow(/for \(query \d+, target \d+\) is not a finite float32/);
    expect(rowsOf((await pool.run(job("raw", SMAT_FCWB))).rows)).toEqual(reference("raw"));
  });

  it("fails a bin whose neuron cannot get a tree, naming the neuron, and stays usable", async () => {
    const j = job("mean", SMAT_FCWB);
    const v = packedViews(j.packed);
    v.points[3 * v.offsets[2] + 4] = NaN; // neuron 8, point 1
    await expect(pool.run(j)).rejects.toThrow(/neuron 9007199254740993: KdTree: point 1 has a non-finite coordinate/);
    expect(rowsOf((await pool.run(job("mean", SMAT_FCWB))).rows)).toEqual(reference("mean"));
  });

  it("refuses an aborted signal before starting, and any run after close", async () => {
    await expect(pool.run(job("raw", SMAT_FCWB), { signal: AbortSignal.abort() })).rejects.toThrow(/abort/i);
    const other = new ScorePool(1);
    await other.close();
    await expect(other.run(job("raw", SMAT_FCWB))).rejects.toThrow(/after close/);
  });
});
