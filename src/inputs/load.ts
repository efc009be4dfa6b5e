/**
 * One neuron file to dotprops: read, parse, prepare (scale, simplify, resample) and
 * compute tangents. neuronFromText is pure so worker threads can call it on text
 * they already have.
 *
 * - SWC and CATMAID JSON: skeleton -> skeletonPoints(params) -> computeDotprops(k).
 *   CATMAID coordinates are nanometres and are not rescaled here: pass scale 0.001.
 * - Points CSV: coordinates multiplied by params.scale, then computeDotprops(k);
 *   without a skeleton there is nothing to simplify or resample.
 * - Dotprops CSV (R's export): used as it is; params do not apply to it.
 *
 * cable (microns, or whatever unit the scaled coordinates are in): for skeletons,
 * the total edge length of the scaled skeleton before simplification, as CATMAID
 * measures a neuron for its minimum-length filter. For CSV inputs it is estimated: points x params.resample when that is a positive
 * step (points resampled at that step are that far apart), otherwise the sum of
 * each point's distance to its nearest other point.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { parseCatmaidCompactDetail } from "../nblast/catmaid.ts";
import { parseDotpropsCsv, parsePointsCsv } from "../nblast/dotprops-csv.ts";
import { computeDotprops } from "../nblast/dotprops.ts";
import { InputError } from "../nblast/errors.ts";
import { KdTree } from "../nblast/kdtree.ts";
import { checkCoordinates, checkEnoughPoints, checkPointBudget, DEFAULT_MAX_POINTS, estimatePoints, pointWarnings } from "../nblast/neuron-checks.ts";
import { pointsOf } from "../nblast/prepare-points.ts";
import { simplifyWithReport } from "../nblast/simplify.ts";
import { cableLength, scaleSkeleton } from "../nblast/skeleton-ops.ts";
import { parseSwc } from "../nblast/swc.ts";
import type { Dotprops, DotpropsParams, Skeleton } from "../nblast/types.ts";
import type { NeuronSource } from "./collect.ts";

export interface LoadedNeuron {
  id: bigint;
  name: string;
  dotprops: Dotprops;
  /** Cable length in the scaled unit (microns), before simplification; estimated for CSV inputs, see above. */
  cable: number;
  /** Things that look wrong but still score (one node, identical points, nanometres), each with the likely fix. */
  warnings: string[];
  /** Set when --simplify dropped whole trees (fragments) or stopped before n branch points. */
  simplified?: { droppedTrees: number; stoppedEarly: string | undefined };
}

export interface LoadOptions {
  /** Refuse a neuron estimated to have more points (default DEFAULT_MAX_POINTS). */
  maxPoints?: number;
}

export async function loadNeuron(src: NeuronSource, params: DotpropsParams, opts: LoadOptions = {}): Promise<LoadedNeuron> {
  const text = await readFile(src.path, "utf8").catch((err: unknown) => {
    throw readError(src, err);
  });
  return neuronFromText(src, text, params, opts);
}

export function loadNeuronSync(src: NeuronSource, params: DotpropsParams, opts: LoadOptions = {}): LoadedNeuron {
  let text: string;
  try {
    text = readFileSync(src.path, "utf8");
  } catch (err) {
    throw readError(src, err);
  }
  return neuronFromText(src, text, params, opts);
}

export function neuronFromText(src: NeuronSource, text: string, params: DotpropsParams, opts: LoadOptions = {}): LoadedNeuron {
  const { id, name, path } = src;
  const maxPoints = opts.maxPoints ?? DEFAULT_MAX_POINTS;
  switch (src.kind) {
    case "swc":
      return fromSkeleton(id, name, path, parseSwc(text, path), params, maxPoints);
    case "catmaid-json":
      return fromSkeleton(id, name, path, parseCatmaidCompactDetail(text, path), params, maxPoints);
    case "dotprops-csv": {
      const dotprops = parseDotpropsCsv(text, path);
      const n = dotprops.alpha.length;
      checkPointBudget({ points: n, cable: NaN }, maxPoints, path, undefined);
      checkCoordinates(dotprops.points, path, 1);
      return { id, name, dotprops, cable: estimateCable(dotprops.points, params), warnings: pointWarnings(dotprops.points, undefined, 1, params.resample) };
    }
    case "points-csv": {
      const points = parsePointsCsv(text, path);
      checkPointBudget({ points: points.length / 3, cable: NaN }, maxPoints, path, undefined);
      if (params.scale !== 1) for (let i = 0; i < points.length; i++) points[i] *= params.scale;
      checkCoordinates(points, path, params.scale);
      checkEnoughPoints(points.length / 3, params.k, path);
      const warnings = pointWarnings(points, undefined, params.scale, params.resample);
      return { id, name, dotprops: computeDotprops(points, params.k), cable: estimateCable(points, params), warnings };
    }
    default:
      throw new InputError(`unknown neuron kind ${JSON.stringify((src as { kind: unknown }).kind)}`, { source: path });
  }
}

function fromSkeleton(id: bigint, name: string, path: string, sk: Skeleton, params: DotpropsParams, maxPoints: number): LoadedNeuron {
  const scaled = params.scale === 1 ? sk : scaleSkeleton(sk, params.scale);
  // Before anything grows with the coordinates: sane numbers, and a bounded number of points.
  checkCoordinates(scaled.xyz, path, params.scale);
  let prepared = scaled;
  let simplified: LoadedNeuron["simplified"];
  if (params.simplify !== undefined) {
    const r = simplifyWithReport(scaled, params.simplify, path);
    prepared = r.skeleton;
    if (r.droppedTrees > 0 || r.stoppedEarly !== undefined) simplified = { droppedTrees: r.droppedTrees, stoppedEarly: r.stoppedEarly };
  }
  checkPointBudget(estimatePoints(prepared, params.resample), maxPoints, path, params.resample);
  const points = pointsOf(prepared, params.resample);
  checkEnoughPoints(points.length / 3, params.k, path);
  const warnings = pointWarnings(points, sk.parent.length, params.scale, params.resample);
  const neuron: LoadedNeuron = { id, name, dotprops: computeDotprops(points, params.k), cable: cableLength(scaled), warnings };
  if (simplified !== undefined) neuron.simplified = simplified;
  return neuron;
}

function estimateCable(points: Float64Array | Float32Array, params: DotpropsParams): number {
  const n = points.length / 3;
  if (params.resample !== undefined && params.resample > 0) return n * params.resample;
  if (n < 2) return 0;
  const tree = new KdTree(points);
  const idx = new Int32Array(2);
  const d2 = new Float64Array(2);
  let total = 0;
  for (let i = 0; i < n; i++) {
    tree.knn(points[3 * i], points[3 * i + 1], points[3 * i + 2], 2, idx, d2);
    total += Math.sqrt(d2[1]);
  }
  return total;
}

function readError(src: NeuronSource, err: unknown): InputError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a folder" : `cannot read (${e.code ?? e.message})`;
  return new InputError(why, { source: src.path });
}
