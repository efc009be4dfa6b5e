/**
 * A thread of bench/kernel.bench.ts's multi-thread run: it opens the prepared targets the
 * main thread built into one SharedArrayBuffer (preparedTargetFrom, no copy, as the
 * worker's scoring threads do), then takes query neurons from a shared counter and
 * scores each against every other neuron, until none is left.
 */
import { parentPort } from "node:worker_threads";
import { preparedTargetFrom, rawScore } from "../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../src/nblast/smat.ts";
import type { Dotprops } from "../src/nblast/types.ts";

export interface ThreadData {
  /** Per neuron: points, vect and alpha (Float64, shared). */
  neurons: { points: Float64Array; vect: Float64Array; alpha: Float64Array }[];
  trees: SharedArrayBuffer;
  offsets: number[];
  /** Int32 counters: [0] next query, [1] threads started (a barrier before timing). */
  control: SharedArrayBuffer;
  useAlpha: boolean;
}

if (parentPort === null) throw new Error("kernel-thread.ts runs as a worker thread");
const port = parentPort;
port.on("message", (d: ThreadData) => {
  const neurons: Dotprops[] = d.neurons;
  const prepared = neurons.map((n, i) => preparedTargetFrom(n, d.trees, d.offsets[i]));
  const ctrl = new Int32Array(d.control);
  const smat = d.useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB;
  const n = neurons.length;
  let sum = 0;
  let pairs = 0;
  for (;;) {
    const q = Atomics.add(ctrl, 0, 1);
    if (q >= n) break;
    for (let t = 0; t < n; t++) {
      if (t === q) continue;
      sum += rawScore(prepared[q], prepared[t], smat, d.useAlpha);
      pairs++;
    }
  }
  port.postMessage({ sum, pairs });
});
