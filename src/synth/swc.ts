/**
 * Random-walk skeletons as SWC text, for end-to-end runs on data of a realistic shape:
 * a tree grown segment by segment (persistent random walks with ~1 um steps) until it
 * has the requested cable. Fragments are placed in a shared box so that some overlap and
 * score above zero.
 */
import { generateFragmentSet, type FragmentShape, FAFB_FRAGMENTS } from "./fragments.ts";
import { Rng } from "./rng.ts";

export interface WalkOptions {
  /** Root position, microns. Default [0, 0, 0]. */
  readonly origin?: readonly [number, number, number];
  /** Mean segment length between branch points, microns. Default 40. */
  readonly meanSegment?: number;
  /** Mean node spacing, microns. Default 1 (steps are uniform in [0.5, 1.5] x this). */
  readonly step?: number;
  /** Multiplies every coordinate on output (1000 writes nanometres). Default 1. */
  readonly scale?: number;
}

/** A random-walk skeleton's nodes: xyz interleaved (microns, before `scale`) and 0-based parents (-1: root). */
export interface Walk {
  readonly xyz: number[];
  readonly parent: number[];
}

/** The nodes of one random-walk skeleton with ~`cable` um of cable (randomWalkSwc's tree). */
export function randomWalk(cable: number, seed: number, options: WalkOptions = {}): Walk {
  if (!(cable > 0 && Number.isFinite(cable))) throw new RangeError(`randomWalkSwc: cable must be positive, got ${cable}`);
  const rng = new Rng(seed);
  const origin = options.origin ?? [0, 0, 0];
  const meanSegment = options.meanSegment ?? 40;
  const step = options.step ?? 1;
  const xyz: number[] = [origin[0], origin[1], origin[2]];
  const parent: number[] = [-1];
  const dir = new Float64Array(3);
  let grown = 0;
  let first = true;
  while (grown < cable) {
    // a new segment from the root (first) or from a random existing node
    let at = first ? 0 : rng.int(parent.length);
    first = false;
    randomUnit(rng, dir);
    const length = Math.min(cable - grown, -meanSegment * Math.log(1 - rng.next()) + step);
    let walked = 0;
    while (walked < length) {
      const s = Math.min(length - walked, step * (0.5 + rng.next()));
      // persistence: the heading drifts, it does not jump
      for (let a = 0; a < 3; a++) dir[a] += 0.35 * rng.normal();
      normalize(dir);
      const i = parent.length;
      xyz.push(xyz[3 * at] + s * dir[0], xyz[3 * at + 1] + s * dir[1], xyz[3 * at + 2] + s * dir[2]);
      parent.push(at);
      at = i;
      walked += s;
    }
    grown += walked;
  }
  return { xyz, parent };
}

/** SWC text (PointNo Label X Y Z Radius Parent) of one random-walk skeleton with ~`cable` um of cable. */
export function randomWalkSwc(cable: number, seed: number, options: WalkOptions = {}): string {
  const { xyz, parent } = randomWalk(cable, seed, options);
  const scale = options.scale ?? 1;
  const lines = ["# random-walk skeleton (nblast-fanout synth)", `# cable ${cable.toFixed(3)} um`];
  for (let i = 0; i < parent.length; i++) {
    const p = (k: number): string => (xyz[3 * i + k] * scale).toFixed(3);
    lines.push(`${i + 1} 0 ${p(0)} ${p(1)} ${p(2)} 0 ${parent[i] < 0 ? -1 : parent[i] + 1}`);
  }
  return lines.join("\n") + "\n";
}

export interface SwcSetOptions extends WalkOptions {
  /** Side of the cube (microns) the roots are spread over. Default 100. */
  readonly box?: number;
  /** Cable-length distribution. Default FAFB_FRAGMENTS. */
  readonly shape?: FragmentShape;
}

/** n synthetic fragments with their SWC text, deterministic from `seed`. */
export function generateSwcSet(
  n: number,
  seed: number,
  options: SwcSetOptions = {},
): { id: bigint; name: string; cable: number; swc: string }[] {
  const set = generateFragmentSet(n, seed, options.shape ?? FAFB_FRAGMENTS);
  const rng = new Rng(seed ^ 0x5bd1e995);
  const box = options.box ?? 100;
  return set.map((x) => {
    const origin: [number, number, number] = [rng.next() * box, rng.next() * box, rng.next() * box];
    return { id: x.id, name: x.name, cable: x.cable, swc: randomWalkSwc(x.cable, Number(x.id) /* below 2^31 here: a seed */, { ...options, origin }) };
  });
}

function randomUnit(rng: Rng, v: Float64Array): void {
  do {
    v[0] = rng.normal();
    v[1] = rng.normal();
    v[2] = rng.normal();
  } while (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] < 1e-12);
  normalize(v);
}

function normalize(v: Float64Array): void {
  const n = Math.hypot(v[0], v[1], v[2]);
  v[0] /= n;
  v[1] /= n;
  v[2] /= n;
}
