/**
 * buildCache: dotprops for every input neuron, computed on all cores, streamed in id order
 * into a local temp folder, then published so that cache.json appears last.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { endianness, tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NeuronSource } from "../inputs/index.ts";
import { MAX_ID } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import type { DotpropsParams } from "../nblast/types.ts";
import type { Storage } from "../storage/types.ts";
import { makeDirs } from "../storage/make-dir.ts";
import { killPoint } from "../storage/kill-point.ts";
import { hostTag } from "../storage/owner.ts";
import { trackTemp, untrackTemp } from "../storage/temp-registry.ts";
import { resolveThreadCount } from "../worker/thread-count.ts";
import { AppendFile } from "./append-file.ts";
import type { BuildResult, BuildTask } from "./build-worker.ts";
import { createHash } from "node:crypto";
import {
  CHECKSUM_BYTES,
  CHECKSUM_NAME,
  DATA_KEY,
  DEFAULT_PRECISION,
  FORMAT_NAME,
  FORMAT_VERSION,
  INDEX_KEY,
  MANIFEST_KEY,
  REPORT_KEY,
  bytesPerValue,
  encodeDataHeader,
  encodeIndex,
  paramsToJson,
  summarize,
} from "./format.ts";
import type { FailedNeuron, Manifest, Precision, Report, SimplifiedNeuron, WarnedNeuron } from "./format.ts";
import { localPathOf } from "./local-path.ts";
import { runOrderedPool } from "./ordered-pool.ts";

export interface BuildProgress {
  /** Neurons finished (written or failed), in id order. */
  done: number;
  total: number;
  failed: number;
  /** Seconds since the build started. */
  elapsed: number;
}

export interface BuildOptions {
  inputs: NeuronSource[];
  /** Where the cache goes: a local folder or an S3 prefix. An existing cache there is replaced. */
  out: Storage;
  params: DotpropsParams;
  /** Default DEFAULT_PRECISION (float64). */
  precision?: Precision;
  /** Worker threads; default: what this machine, container quota or Slurm allocation allows. */
  threads?: number;
  /** Fail on the first neuron that cannot be read instead of reporting it. */
  strict?: boolean;
  /** Refuse a neuron estimated to have more points than this (default DEFAULT_MAX_POINTS, 2,000,000). */
  maxPoints?: number;
  /** Files collectInputs skipped (not neurons), listed in report.json. */
  skipped?: { path: string; reason: string }[];
  onProgress?: (p: BuildProgress) => void;
  /** Scratch folder for an S3 build (default: the OS temp folder). Local builds use the output folder. */
  tmpDir?: string;
}

export interface BuildSummary {
  uri: string;
  neurons: number;
  failed: FailedNeuron[];
  /** Cached, with warnings (also on report.json). */
  warned: WarnedNeuron[];
  /** Lost fragments (whole trees) through --simplify, or simplify stopped early. */
  simplified: SimplifiedNeuron[];
  totalPoints: number;
  /** Bytes of dotprops.bin + index.bin. */
  bytes: number;
  sha256: string;
  /** Seconds. */
  elapsed: number;
  threads: number;
}

/** Scratch folders of local builds: ".cache-build-<host tag>-<pid>-<random>". */
export const SCRATCH_PREFIX = ".cache-build-";

const WORKER_URL = new URL("./build-worker" + extname(fileURLToPath(import.meta.url)), import.meta.url);

/** How many failures cache.json lists for `cache info` (report.json has them all). */
const FIRST_FAILURES = 5;

export async function buildCache(opts: BuildOptions): Promise<BuildSummary> {
  if (endianness() !== "LE") throw new Error("the dotprops cache is little-endian; this machine is not");
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const sources = sortedUnique(opts.inputs);
  const total = sources.length;
  if (total === 0) throw new InputError("no input neurons to cache");
  const precision = opts.precision ?? DEFAULT_PRECISION;
  if (precision !== "float32" && precision !== "float64") {
    throw new InputError(`cache precision must be float32 or float64, not ${JSON.stringify(precision)}`);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new InputError(`threads must be a positive integer, not ${opts.threads}`);
  }
  const bpv = bytesPerValue(precision);
  const threads = Math.min(opts.threads ?? resolveThreadCount(undefined), total);

  const localOut = localPathOf(opts.out.uri);
  if (localOut !== undefined) await makeDirs(localOut);
  const scratchParent = localOut ?? opts.tmpDir ?? tmpdir();
  // In the output folder itself for a local cache, so publishing is a rename, not a copy.
  // The owner in the name: a later build removes the folder once this process is gone (sweep.ts).
  const scratch = await mkdtemp(join(scratchParent, `${SCRATCH_PREFIX}${hostTag()}-${process.pid}-`));
  trackTemp(scratch, "dir");
  const data = await AppendFile.create(join(scratch, DATA_KEY));

  try {
    await data.append(encodeDataHeader(bpv));
    const ids = new BigInt64Array(total);
    const checksums = new Uint8Array(CHECKSUM_BYTES * total);
    const offsets = new Float64Array(total);
    const points = new Uint32Array(total);
    const cable = new Float64Array(total);
    const bbox = new Float32Array(6 * total);
    const nameOffsets = new Uint32Array(total);
    const nameLengths = new Uint32Array(total);
    const names = new GrowableBytes();
    const encoder = new TextEncoder();
    const failed: FailedNeuron[] = [];
    const warned: WarnedNeuron[] = [];
    const simplified: SimplifiedNeuron[] = [];
    let count = 0;
    let totalPoints = 0;

    await runOrderedPool<BuildTask, BuildResult>({
      workerUrl: WORKER_URL,
      threads,
      total,
      makeTask: (seq) => ({ seq, source: sources[seq], params: opts.params, bpv, maxPoints: opts.maxPoints }),
      crashed: (seq, error) => ({ seq, ok: false, reason: `${sources[seq].path}: worker crashed: ${error.message}`, error: error.name }),
      consume: async (seq, r) => {
        const src = sources[seq];
        if (r.ok) {
          ids[count] = src.id;
          offsets[count] = data.position;
          points[count] = r.n;
          cable[count] = r.cable;
          bbox.set(r.bbox, 6 * count);
          checksums.set(r.checksum, CHECKSUM_BYTES * count);
          const name = encoder.encode(src.name);
          nameOffsets[count] = names.length;
          nameLengths[count] = name.length;
          names.append(name);
          if (names.length > 0xffffffff) throw new Error("names block over 4 GiB: the index cannot address it");
          count++;
          totalPoints += r.n;
          await data.append(new Uint8Array(r.buffer));
          if (count === 1) killPoint("cache-build");
          const who = { id: String(src.id), name: src.name, path: src.path };
          if (r.warnings.length > 0) warned.push({ ...who, warnings: r.warnings });
          if (r.simplified !== undefined) simplified.push({ ...who, droppedTrees: r.simplified.droppedTrees, stoppedEarly: r.simplified.stoppedEarly ?? null });
        } else {
          if (opts.strict) throw new InputError(`cannot read neuron ${src.name} (id ${src.id}): ${r.reason}`);
          failed.push({ id: String(src.id), name: src.name, path: src.path, reason: r.reason, error: r.error });
        }
        opts.onProgress?.({ done: seq + 1, total, failed: failed.length, elapsed: elapsed() });
      },
    });

    if (count === 0) {
      throw new InputError(`none of the ${total} input neurons could be read; first: ${failed[0]?.reason ?? "?"}`);
    }
    const dataBytes = data.position;
    await data.close();
    const cols = {
      ids: ids.subarray(0, count),
      offsets: offsets.subarray(0, count),
      points: points.subarray(0, count),
      cable: cable.subarray(0, count),
      bbox: bbox.subarray(0, 6 * count),
      names: [],
      checksums: checksums.subarray(0, CHECKSUM_BYTES * count),
    };
    const index = encodeIndex(cols, names.bytes(), nameOffsets.subarray(0, count), nameLengths.subarray(0, count), {
      bytesPerValue: bpv,
      dataBytes,
      totalPoints,
      params: opts.params,
    });
    data.hash.update(index);
    const sha256 = data.hash.digest("hex");
    await writeFile(join(scratch, INDEX_KEY), index);
    const report: Report = { format: FORMAT_NAME, version: FORMAT_VERSION, failed, warnings: warned, simplified, skipped: opts.skipped ?? [] };
    const reportText = JSON.stringify(report, null, 1) + "\n";
    await writeFile(join(scratch, REPORT_KEY), reportText);

    const manifest: Manifest = {
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      params: paramsToJson(opts.params),
      precision,
      neurons: count,
      totalPoints,
      sha256,
      checksums: CHECKSUM_NAME,
      files: {
        [DATA_KEY]: { bytes: dataBytes },
        [INDEX_KEY]: { bytes: index.length, sha256: createHash("sha256").update(index).digest("hex") },
        [REPORT_KEY]: { bytes: Buffer.byteLength(reportText) },
      },
      stats: { points: summarize(cols.points), cable: summarize(cols.cable) },
      failed: {
        count: failed.length,
        first: failed.slice(0, FIRST_FAILURES).map((f) => ({ name: f.name, reason: f.reason })),
      },
      warned: {
        count: warned.length,
        first: warned.slice(0, FIRST_FAILURES).map((w) => ({ name: w.name, warning: w.warnings.join("; ") })),
      },
      simplified: {
        count: simplified.length,
        first: simplified.slice(0, FIRST_FAILURES).map((s) => ({ name: s.name, droppedTrees: s.droppedTrees, stoppedEarly: s.stoppedEarly })),
      },
    };
    await publish(opts.out, localOut, scratch, JSON.stringify(manifest, null, 2) + "\n");
    return {
      uri: opts.out.uri,
      neurons: count,
      failed,
      warned,
      simplified,
      totalPoints,
      bytes: dataBytes + index.length,
      sha256,
      elapsed: elapsed(),
      threads,
    };
  } catch (err) {
    // A file system error names the cache being built, not our scratch folder in it.
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === "string" && typeof e.path === "string" && e.path.startsWith(scratch)) {
      e.path = join(localOut ?? opts.out.uri, e.path.slice(scratch.length + 1));
    }
    throw err;
  } finally {
    await data.abandon();
    await rm(scratch, { recursive: true, force: true });
    untrackTemp(scratch);
  }
}

/**
 * cache.json goes first out and last in: while the other files are replaced the folder is not
 * a cache, and a reader never sees a cache.json next to data it does not describe.
 */
async function publish(out: Storage, localOut: string | undefined, scratch: string, manifest: string): Promise<void> {
  await out.delete(MANIFEST_KEY);
  for (const key of [DATA_KEY, INDEX_KEY, REPORT_KEY]) {
    if (localOut !== undefined) await rename(join(scratch, key), join(localOut, key));
    else await out.putFile(key, join(scratch, key));
  }
  await out.put(MANIFEST_KEY, manifest);
}

/** Inputs sorted by id; ids must be ids (0 to 2^63 - 1) and unique, since the cache is looked up by id. */
function sortedUnique(inputs: NeuronSource[]): NeuronSource[] {
  for (const s of inputs) {
    if (typeof s.id !== "bigint" || s.id < 0n || s.id > MAX_ID) {
      throw new InputError(`neuron ${s.name} has no usable id (${String(s.id)}; ids are integers from 0 to 2^63 - 1)`, { source: s.path });
    }
  }
  const sorted = inputs.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].id === sorted[i - 1].id) {
      throw new InputError(`duplicate neuron id ${sorted[i].id}: ${sorted[i - 1].path} and ${sorted[i].path}`);
    }
  }
  return sorted;
}

/** Bytes appended piecewise, kept in one doubling buffer. */
class GrowableBytes {
  private buf = new Uint8Array(1 << 16);
  length = 0;

  append(b: Uint8Array): void {
    if (this.length + b.length > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.length + b.length) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
    }
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}
