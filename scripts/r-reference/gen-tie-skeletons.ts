/**
 * Writes the tie-rich skeletons of the R reference fixtures (test/fixtures/r-reference/
 * skeletons/): SWC trees whose nodes lie on a grid, so that many points are exactly
 * equidistant from others (the case where the choice among equidistant neighbours
 * decides dotprops and scores).
 *
 *   node scripts/r-reference/gen-tie-skeletons.ts [OUT_DIR]
 *
 * Two sets, 12 neurons each, all of a set grown in one shared box so that pairs overlap
 * and score above zero:
 *  - lattice/: integer coordinates, unit steps along the axes (self-avoiding branching
 *    walks, some segments perfectly straight). Microns, used as they are.
 *  - voxel8nm/: integer coordinates in 8 nm voxels (scale 0.008 gives microns, in R as
 *    xyz * 0.008 and here as --scale 0.008): walks on a grid of a per-neuron spacing of
 *    25 to 125 voxels (0.2 to 1 um), with a few nodes nudged by 1-3 voxels as a tracer would.
 * Each set has 8 plain neurons, a bushy one (many branch points, for --simplify), two
 * with several roots (disconnected trees in one file, the largest not first) and one
 * whose rows are shuffled and whose ids are not 1..n.
 *
 * Deterministic: the same files on every machine (seeded mulberry32 from src/synth).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/synth/rng.ts";

type Vec = [number, number, number];

const AXES: readonly Vec[] = [
  [1, 0, 0],
  [-1, 0, 0],
  [0, 1, 0],
  [0, -1, 0],
  [0, 0, 1],
  [0, 0, -1],
];

/** One tree or forest under construction: grid positions (in grid steps) and parent indices. */
interface Forest {
  pos: Vec[];
  parent: number[];
  /** Occupied grid sites ("x,y,z"), shared by all trees of the neuron so they never touch. */
  taken: Set<string>;
}

interface GrowOptions {
  /** Nodes to add to this tree (it stops at about this many). */
  nodes: number;
  /** Mean segment length in grid steps. */
  meanSegment: number;
  /** Chance that a segment is perfectly straight. */
  straight: number;
  /** Chance per step of a right-angle turn in a segment that is not straight. */
  turn: number;
}

const key = (p: Vec): string => `${p[0]},${p[1]},${p[2]}`;

/** Grows one self-avoiding branching tree from `root` (grid coordinates) into `f`. */
function growTree(f: Forest, rng: Rng, root: Vec, o: GrowOptions): void {
  if (f.taken.has(key(root))) throw new Error(`root ${key(root)} already taken`);
  const first = f.pos.length;
  f.pos.push(root);
  f.parent.push(-1);
  f.taken.add(key(root));
  const children = new Map<number, number>([[first, 0]]);
  let stuck = 0;
  while (f.pos.length - first < o.nodes && stuck < 200) {
    // First segment from the root, then from a random node of this tree (tips and
    // segment interiors alike, so branch points of degree 3 and 4 both occur).
    const from = f.pos.length === first + 1 ? first : first + rng.int(f.pos.length - first);
    if ((children.get(from) ?? 0) >= 3) {
      stuck++;
      continue;
    }
    const length = 2 + Math.floor(-o.meanSegment * Math.log(1 - rng.next()));
    const straight = rng.next() < o.straight;
    let dir = AXES[rng.int(6)];
    let at = from;
    let grown = 0;
    while (grown < length && f.pos.length - first < o.nodes) {
      if (!straight && grown > 0 && rng.next() < o.turn) dir = perpendicular(dir, rng);
      let next = add(f.pos[at], dir);
      if (f.taken.has(key(next))) {
        // Blocked: try the other directions once, in random order, then give up.
        const options = shuffle(AXES.filter((d) => !f.taken.has(key(add(f.pos[at], d)))), rng);
        if (options.length === 0 || straight) break;
        dir = options[0];
        next = add(f.pos[at], dir);
      }
      const i = f.pos.length;
      f.pos.push(next);
      f.parent.push(at);
      f.taken.add(key(next));
      children.set(at, (children.get(at) ?? 0) + 1);
      children.set(i, 0);
      at = i;
      grown++;
    }
    if (grown === 0) stuck++;
  }
}

function add(a: Vec, b: Vec): Vec {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

function perpendicular(d: Vec, rng: Rng): Vec {
  const options = AXES.filter((a) => a[0] * d[0] + a[1] * d[1] + a[2] * d[2] === 0);
  return options[rng.int(options.length)];
}

function shuffle<T>(a: T[], rng: Rng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function randomSite(rng: Rng, box: number): Vec {
  return [rng.int(box), rng.int(box), rng.int(box)];
}

interface NeuronSpec {
  name: string;
  seed: number;
  /** One entry per tree, in file order. */
  trees: GrowOptions[];
  /** Rows in random order and ids 1000 + 7i instead of 1..n. */
  shuffled?: boolean;
}

const PLAIN = (nodes: number): GrowOptions => ({ nodes, meanSegment: 12, straight: 0.3, turn: 0.25 });
const BUSHY: GrowOptions = { nodes: 420, meanSegment: 3, straight: 0.2, turn: 0.3 };

/** The twelve neurons of a set (names get the set's prefix). */
function specs(prefix: string, seed0: number): NeuronSpec[] {
  const out: NeuronSpec[] = [];
  const sizes = [180, 240, 300, 360, 150, 270, 330, 210];
  sizes.forEach((n, i) => out.push({ name: `${prefix}-${String(i + 1).padStart(2, "0")}`, seed: seed0 + i, trees: [PLAIN(n)] }));
  out.push({ name: `${prefix}-bushy`, seed: seed0 + 20, trees: [BUSHY] });
  // Several roots; the largest tree is not the first in the file. In multiroot-a the first
  // tree is long and thin (its farthest tip is farther from its root than any tip of the
  // largest tree), in multiroot-b there are three trees, the largest in the middle.
  out.push({
    name: `${prefix}-multiroot-a`,
    seed: seed0 + 30,
    trees: [
      { nodes: 90, meanSegment: 40, straight: 0.6, turn: 0.1 },
      { nodes: 200, meanSegment: 5, straight: 0.2, turn: 0.3 },
    ],
  });
  out.push({
    name: `${prefix}-multiroot-b`,
    seed: seed0 + 31,
    trees: [PLAIN(60), PLAIN(220), { nodes: 25, meanSegment: 6, straight: 0.5, turn: 0.2 }],
  });
  out.push({ name: `${prefix}-shuffled`, seed: seed0 + 40, trees: [PLAIN(250)], shuffled: true });
  return out;
}

interface SetOptions {
  /** Grid spacing in output units for a neuron (1 for the unit lattice). */
  spacing(rng: Rng): number;
  /** Origin of the shared box, output units. */
  origin: Vec;
  /** Side of the box roots are drawn from, in grid steps. */
  box: number;
  /** Chance that a node is nudged by 1-3 units per axis (0 for the unit lattice). */
  jitter: number;
  header: string[];
}

/** SWC text of one neuron. */
function neuronSwc(spec: NeuronSpec, set: SetOptions): string {
  const rng = new Rng(spec.seed);
  const spacing = set.spacing(rng);
  const f: Forest = { pos: [], parent: [], taken: new Set() };
  const treeStarts: number[] = [];
  for (const t of spec.trees) {
    treeStarts.push(f.pos.length);
    let root = randomSite(rng, set.box);
    while (f.taken.has(key(root))) root = randomSite(rng, set.box);
    growTree(f, rng, root, t);
  }
  const n = f.pos.length;
  const xyz = f.pos.map((p): Vec => {
    const q: Vec = [set.origin[0] + spacing * p[0], set.origin[1] + spacing * p[1], set.origin[2] + spacing * p[2]];
    if (set.jitter > 0 && rng.next() < set.jitter) for (let a = 0; a < 3; a++) q[a] += rng.int(7) - 3;
    return q;
  });
  const ids = Array.from({ length: n }, (_, i) => (spec.shuffled ? 1000 + 7 * i : i + 1));
  const rows = Array.from({ length: n }, (_, i) => i);
  if (spec.shuffled) shuffle(rows, rng);
  const lines = [
    `# ${spec.name}: generated by scripts/r-reference/gen-tie-skeletons.ts (seed ${spec.seed})`,
    ...set.header,
    `# ${n} nodes, ${spec.trees.length} tree(s)${spacing === 1 ? "" : `, grid spacing ${spacing}`}`,
  ];
  for (const i of rows) {
    const p = f.parent[i];
    lines.push(`${ids[i]} 0 ${xyz[i][0]} ${xyz[i][1]} ${xyz[i][2]} 0 ${p < 0 ? -1 : ids[p]}`);
  }
  return lines.join("\n") + "\n";
}

const SETS: Record<string, { seed: number; options: SetOptions }> = {
  lattice: {
    seed: 7001,
    options: {
      spacing: () => 1,
      origin: [0, 0, 0],
      box: 12,
      jitter: 0,
      header: ["# integer lattice, unit steps; coordinates are microns"],
    },
  },
  voxel8nm: {
    seed: 8001,
    options: {
      spacing: (rng) => [25, 40, 63, 100, 125][rng.int(5)],
      origin: [12000, 8000, 3000],
      box: 10,
      jitter: 0.15,
      header: ["# integer 8 nm voxel coordinates: multiply by 0.008 for microns (R: xyz * 0.008; nblast-fanout: --scale 0.008)"],
    },
  },
};

function main(): void {
  const out = process.argv[2] ?? new URL("../../test/fixtures/r-reference/skeletons/", import.meta.url).pathname;
  for (const [set, { seed, options }] of Object.entries(SETS)) {
    const dir = join(out, set);
    mkdirSync(dir, { recursive: true });
    for (const spec of specs(set, seed)) {
      writeFileSync(join(dir, `${spec.name}.swc`), neuronSwc(spec, options));
    }
  }
}

main();
