/**
 * Worker-thread entry for buildCache: reads, parses and computes one neuron per message and
 * posts back its encoded block (transferred, not copied). The main thread does all writing.
 */
import { parentPort } from "node:worker_threads";
import { loadNeuron } from "../inputs/index.ts";
import type { NeuronSource } from "../inputs/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { DotpropsParams } from "../nblast/types.ts";
import { encodeBlock } from "./block.ts";

export interface BuildTask {
  seq: number;
  source: NeuronSource;
  params: DotpropsParams;
  bpv: 4 | 8;
  /** Refuse a neuron estimated to have more points (default DEFAULT_MAX_POINTS). */
  maxPoints?: number;
}

export type BuildResult =
  | {
      seq: number;
      ok: true;
      n: number;
      cable: number;
      bbox: number[];
      checksum: Uint8Array;
      buffer: ArrayBuffer;
      warnings: string[];
      simplified?: { droppedTrees: number; stoppedEarly: string | undefined };
    }
  | { seq: number; ok: false; reason: string; error: string };

async function run(task: BuildTask): Promise<BuildResult> {
  try {
    const neuron = await loadNeuron(task.source, task.params, { maxPoints: task.maxPoints });
    if (neuron.dotprops.alpha.length === 0) throw new InputError("no points", { source: task.source.path });
    const block = encodeBlock(neuron.dotprops, task.bpv);
    return {
      seq: task.seq,
      ok: true,
      n: block.n,
      cable: neuron.cable,
      bbox: block.bbox,
      checksum: block.checksum,
      buffer: block.buffer,
      warnings: neuron.warnings,
      simplified: neuron.simplified,
    };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const reason = e instanceof InputError || e.message.includes(task.source.path) ? e.message : `${task.source.path}: ${e.message}`;
    return { seq: task.seq, ok: false, reason, error: e.name };
  }
}

const port = parentPort;
if (port !== null) {
  port.on("message", (task: BuildTask) => {
    void run(task).then((result) => {
      if (result.ok) port.postMessage(result, [result.buffer]);
      else port.postMessage(result);
    });
  });
}
