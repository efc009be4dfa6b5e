/**
 * Reads the R reference fixtures (test/fixtures/r-reference/, see its README): what
 * R's nat / nat.nblast computed from this project's fixture skeletons, per fixture set
 * and parameter combination ("config"): dotprops per point and scores per ordered pair
 * in every mode, with and without alpha. Also the comparisons the tests and
 * scripts/r-reference/compare.ts make against the project's engine.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { combineScores, NORMALIZATIONS, type Normalization } from "../../src/nblast/modes.ts";
import { skeletonPoints } from "../../src/nblast/prepare-points.ts";
import { computeDotprops } from "../../src/nblast/dotprops.ts";
import { scoreAllByAll } from "../../src/nblast/score.ts";
import { parseSwc } from "../../src/nblast/swc.ts";
import type { Dotprops, DotpropsParams } from "../../src/nblast/types.ts";

export const R_REFERENCE = new URL("../fixtures/r-reference/", import.meta.url);

/** The fixture sets and where their SWC inputs are. */
export const R_REFERENCE_SETS = ["fctraces20", "lattice", "voxel8nm"] as const;
export type RReferenceSet = (typeof R_REFERENCE_SETS)[number];

function skeletonDir(set: RReferenceSet): URL {
  return set === "fctraces20" ? new URL("../../samples/fctraces20/", import.meta.url) : new URL(`skeletons/${set}/`, R_REFERENCE);
}

/** One row of configs.csv: a set run with one parameter combination. */
export interface RConfig {
  readonly set: RReferenceSet;
  /** e.g. "k5-r1-s2": k = 5, resample 1 um, simplify_neuron(x, 2). */
  readonly config: string;
  /** The project's parameters that mean the same as R's run. */
  readonly params: DotpropsParams;
  readonly neurons: number;
  readonly points: number;
}

const optionalNumber = (s: string): number | undefined => (s === "" ? undefined : Number(s));

/** Every set x config R was run on, in the order of configs.csv. */
export function rConfigs(): RConfig[] {
  const lines = readText("configs.csv").trimEnd().split("\n");
  const header = lines[0].split(",");
  const want = ["set", "config", "k", "resample", "simplify", "scale", "neurons", "points"];
  if (header.join(",") !== want.join(",")) throw new Error(`configs.csv: header ${lines[0]}, expected ${want.join(",")}`);
  return lines.slice(1).map((line) => {
    const [set, config, k, resample, simplify, scale, neurons, points] = line.split(",");
    if (!(R_REFERENCE_SETS as readonly string[]).includes(set)) throw new Error(`configs.csv: unknown set ${set}`);
    return {
      set: set as RReferenceSet,
      config,
      params: { scale: Number(scale), k: Number(k), resample: optionalNumber(resample), simplify: optionalNumber(simplify) },
      neurons: Number(neurons),
      points: Number(points),
    };
  });
}

function readText(path: string): string {
  const buf = readFileSync(new URL(path, R_REFERENCE));
  return (path.endsWith(".gz") ? gunzipSync(buf) : buf).toString("utf8");
}

/** R numbers as sprintf("%.17g") printed them ("NaN", "NA", "Inf" included). */
function rNumber(s: string): number {
  switch (s) {
    case "NA":
    case "NaN":
      return NaN;
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
  }
  const v = Number(s);
  if (s === "" || Number.isNaN(v)) throw new Error(`not a number: ${JSON.stringify(s)}`);
  return v;
}

/** R's dotprops of every neuron of a set x config, in R's neuron order (sorted file names) and point order. */
export function readRDotprops(set: RReferenceSet, config: string): Map<string, Dotprops> {
  const lines = readText(`${set}/${config}.dotprops.csv.gz`).trimEnd().split("\n");
  if (lines[0] !== "neuron,point,x,y,z,vx,vy,vz,alpha") throw new Error(`${set}/${config}: unexpected dotprops header ${lines[0]}`);
  const rows = new Map<string, string[][]>();
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].split(",");
    let list = rows.get(f[0]);
    if (list === undefined) rows.set(f[0], (list = []));
    if (Number(f[1]) !== list.length + 1) throw new Error(`${set}/${config}: ${f[0]} point ${f[1]} out of order`);
    list.push(f);
  }
  const out = new Map<string, Dotprops>();
  for (const [name, list] of rows) {
    const n = list.length;
    const points = new Float64Array(3 * n);
    const vect = new Float64Array(3 * n);
    const alpha = new Float64Array(n);
    list.forEach((f, i) => {
      for (let a = 0; a < 3; a++) {
        points[3 * i + a] = rNumber(f[2 + a]);
        vect[3 * i + a] = rNumber(f[5 + a]);
      }
      alpha[i] = rNumber(f[8]);
    });
    out.set(name, { points, vect, alpha });
  }
  return out;
}

/** Score column of scores.csv: mode, with or without alpha. */
export const scoreColumn = (mode: Normalization, useAlpha: boolean): string => (useAlpha ? `${mode}_alpha` : mode);

/** R's scores of a set x config: every ordered pair, every mode, with and without alpha. */
export interface RScores {
  /** Neuron names; matrices are indexed [query * n + target] in this order. */
  readonly names: readonly string[];
  /** Row-major (rows = queries) matrix of one mode. */
  get(mode: Normalization, useAlpha: boolean): Float64Array;
}

export function readRScores(set: RReferenceSet, config: string): RScores {
  const lines = readText(`${set}/${config}.scores.csv.gz`).trimEnd().split("\n");
  const header = lines[0].split(",");
  const expected = [false, true].flatMap((a) => NORMALIZATIONS.map((m) => scoreColumn(m, a)));
  const given = header.slice(2);
  if (header[0] !== "query" || header[1] !== "target" || given.length !== expected.length || !expected.every((c) => given.includes(c))) {
    throw new Error(`${set}/${config}: scores header ${lines[0]}, expected query,target and ${expected.join(",")}`);
  }
  const names: string[] = [];
  const index = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const q = lines[i].slice(0, lines[i].indexOf(","));
    if (!index.has(q)) {
      index.set(q, names.length);
      names.push(q);
    }
  }
  const n = names.length;
  if (lines.length - 1 !== n * n) throw new Error(`${set}/${config}: ${lines.length - 1} score rows for ${n} neurons`);
  const columns = new Map<string, Float64Array>();
  for (let c = 2; c < header.length; c++) columns.set(header[c], new Float64Array(n * n).fill(NaN));
  const seen = new Uint8Array(n * n);
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i].split(",");
    const q = index.get(f[0]);
    const t = index.get(f[1]);
    if (q === undefined || t === undefined) throw new Error(`${set}/${config}: line ${i + 1} names an unknown neuron`);
    const k = q * n + t;
    if (seen[k]++ !== 0) throw new Error(`${set}/${config}: pair ${f[0]} -> ${f[1]} twice`);
    for (let c = 2; c < header.length; c++) columns.get(header[c])![k] = rNumber(f[c]);
  }
  return {
    names,
    get(mode, useAlpha) {
      const col = columns.get(scoreColumn(mode, useAlpha));
      if (col === undefined) throw new Error(`${set}/${config}: no column ${scoreColumn(mode, useAlpha)}`);
      return col;
    },
  };
}

/** The SWC text of a neuron of a set. */
export function readSkeletonText(set: RReferenceSet, name: string): string {
  return readFileSync(new URL(`${name}.swc`, skeletonDir(set)), "utf8");
}

/** The project's points for a neuron: parse, then scale, simplify and resample as the CLI does. */
export function projectPoints(set: RReferenceSet, name: string, params: DotpropsParams): Float64Array {
  return skeletonPoints(parseSwc(readSkeletonText(set, name), `${name}.swc`), params);
}

// ---- comparisons --------------------------------------------------------------

/** Tolerances of issue 7: tangents 1 - |dot| <= 1e-12, alpha and scores within 1e-12 (scores relative, absolute near 0). */
export const TOLERANCE = 1e-12;

export interface PointsDiff {
  neuron: string;
  /** R's and the project's point counts. */
  rCount: number;
  count: number;
  /** Points whose coordinates are not bit-identical (all of them when the counts differ). */
  differing: number;
  maxAbs: number;
}

/** Where the project's points differ from R's (empty when bit-identical). */
export function comparePoints(neuron: string, r: Float64Array, ours: Float64Array): PointsDiff | undefined {
  const rCount = r.length / 3;
  const count = ours.length / 3;
  if (rCount !== count) return { neuron, rCount, count, differing: Math.max(rCount, count), maxAbs: Infinity };
  let differing = 0;
  let maxAbs = 0;
  for (let i = 0; i < count; i++) {
    let bad = false;
    for (let a = 0; a < 3; a++) {
      const d = Math.abs(r[3 * i + a] - ours[3 * i + a]);
      if (!Object.is(r[3 * i + a], ours[3 * i + a]) && d !== 0) bad = true;
      if (d > maxAbs) maxAbs = d;
    }
    if (bad) differing++;
  }
  return differing === 0 ? undefined : { neuron, rCount, count, differing, maxAbs };
}

export interface DotpropsDiff {
  neuron: string;
  points: number;
  /** Points with 1 - |dot(v, v_R)| > TOLERANCE, and the worst 1 - |dot|. */
  tangents: number;
  worstTangent: number;
  /** Points with |alpha - alpha_R| > TOLERANCE (NaN matches NaN), and the worst difference. */
  alphas: number;
  worstAlpha: number;
  /** First differing point (0-based), for a look with a debugger. */
  first: number;
}

/** Per-point tangent and alpha differences of two dotprops of the same points. */
export function compareDotprops(neuron: string, r: Dotprops, ours: Dotprops): DotpropsDiff | undefined {
  const n = r.alpha.length;
  if (ours.alpha.length !== n) throw new Error(`${neuron}: ${ours.alpha.length} points, R has ${n}`);
  let tangents = 0, alphas = 0, worstTangent = 0, worstAlpha = 0, first = -1;
  for (let i = 0; i < n; i++) {
    const dot = r.vect[3 * i] * ours.vect[3 * i] + r.vect[3 * i + 1] * ours.vect[3 * i + 1] + r.vect[3 * i + 2] * ours.vect[3 * i + 2];
    const t = 1 - Math.abs(dot);
    const ra = r.alpha[i], oa = ours.alpha[i];
    const ad = Number.isNaN(ra) && Number.isNaN(oa) ? 0 : Number.isNaN(ra) || Number.isNaN(oa) ? Infinity : Math.abs(ra - oa);
    const tBad = !(t <= TOLERANCE);
    const aBad = !(ad <= TOLERANCE);
    if (tBad) tangents++;
    if (aBad) alphas++;
    if ((tBad || aBad) && first < 0) first = i;
    if (!(t <= worstTangent)) worstTangent = t;
    if (ad > worstAlpha) worstAlpha = ad;
  }
  return tangents + alphas === 0 ? undefined : { neuron, points: n, tangents, worstTangent, alphas, worstAlpha, first };
}

/** |got - want| within TOLERANCE relative, or TOLERANCE absolute near zero; NaN only matches NaN. */
export function scoreClose(got: number, want: number): boolean {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got);
  return Math.abs(got - want) <= Math.max(TOLERANCE * Math.abs(want), TOLERANCE);
}

/** Relative difference as scoreClose measures it (absolute below |want| = 1). */
export function scoreDiff(got: number, want: number): number {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  return Math.abs(got - want) / Math.max(Math.abs(want), 1);
}

/**
 * The project's scores of dotprops `dps` (in `names` order) in every mode, with or
 * without alpha, row-major (rows = queries): the raw all-by-all from scoreAllByAll
 * with nat.nblast's default matrices, every other mode from it by combineScores.
 */
export function projectScores(dps: readonly Dotprops[], useAlpha: boolean): Map<Normalization, Float64Array> {
  const n = dps.length;
  const raw = scoreAllByAll(dps, dps, { useAlpha, normalization: "raw" });
  const out = new Map<Normalization, Float64Array>();
  for (const mode of NORMALIZATIONS) {
    const m = new Float64Array(n * n);
    for (let q = 0; q < n; q++) {
      for (let t = 0; t < n; t++) m[q * n + t] = combineScores(mode, raw[q * n + t], raw[t * n + q], raw[q * n + q], raw[t * n + t]);
    }
    out.set(mode, m);
  }
  return out;
}

export interface ScoreDiff {
  mode: Normalization;
  useAlpha: boolean;
  /** Ordered pairs outside tolerance, of pairs. */
  differing: number;
  pairs: number;
  /** Worst difference (relative, absolute below 1) and its pair. */
  worst: number;
  worstPair: string;
}

/** Mode by mode, with and without alpha: pairs where the project's scores of `dps` differ from R's. */
export function compareScores(r: RScores, dps: readonly Dotprops[]): ScoreDiff[] {
  const n = r.names.length;
  if (dps.length !== n) throw new Error(`${dps.length} dotprops for ${n} neurons`);
  const out: ScoreDiff[] = [];
  for (const useAlpha of [false, true]) {
    const ours = projectScores(dps, useAlpha);
    for (const mode of NORMALIZATIONS) {
      const want = r.get(mode, useAlpha);
      const got = ours.get(mode)!;
      let differing = 0, worst = 0, worstPair = "";
      for (let k = 0; k < n * n; k++) {
        if (scoreClose(got[k], want[k])) continue;
        differing++;
        const d = scoreDiff(got[k], want[k]);
        if (d > worst || worstPair === "") {
          worst = d;
          worstPair = `${r.names[Math.floor(k / n)]} -> ${r.names[k % n]}: ${got[k]} vs R ${want[k]}`;
        }
      }
      if (differing > 0) out.push({ mode, useAlpha, differing, pairs: n * n, worst, worstPair });
    }
  }
  return out;
}

/** The project's dotprops of every neuron of a config from the skeletons (preprocessing + computeDotprops). */
export function projectDotprops(cfg: RConfig, names: Iterable<string>): Map<string, Dotprops> {
  const out = new Map<string, Dotprops>();
  for (const name of names) out.set(name, computeDotprops(projectPoints(cfg.set, name, cfg.params), cfg.params.k));
  return out;
}
