/**
 * NBLAST kernel speed: the raw forward all-by-all of a folder of R dotprops CSVs
 * (every ordered pair but the diagonal, one k-d tree per target built once, one
 * thread), as /work/shared/baseline/numpy_nblast.py measures it, and that
 * baseline (NumPy + pykdtree) in the same run when python3 has numpy and pykdtree.
 *
 *   npm run bench                       # kcs20 fixtures
 *   node bench/kernel.bench.ts [DOTPROPS_DIR] [--reps N]
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDotpropsCsv } from "../src/nblast/dotprops-csv.ts";
import { prepareTarget, rawScore } from "../src/nblast/score.ts";
import type { PreparedTarget } from "../src/nblast/score.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB } from "../src/nblast/smat.ts";
import type { Dotprops } from "../src/nblast/types.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
let reps = 7;
const r = args.indexOf("--reps");
if (r >= 0) {
  reps = Number(args[r + 1]);
  args.splice(r, 2);
}
const dir = args[0] ?? join(ROOT, "test/fixtures/reference/kcs20/dotprops");
const SMAT_JSON = join(ROOT, "test/fixtures/reference/smat/smat_fcwb.json");
const BASELINE = join(ROOT, "../shared/baseline/numpy_nblast.py");

const files = readdirSync(dir)
  .filter((f) => f.endsWith(".csv"))
  .sort();
const neurons: Dotprops[] = files.map((f) => parseDotpropsCsv(readFileSync(join(dir, f), "utf8"), f));
const n = neurons.length;
const totalPoints = neurons.reduce((s, d) => s + d.alpha.length, 0);
const pairs = n * (n - 1);
const pointQueries = (n - 1) * totalPoints;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function buildAll(): PreparedTarget[] {
  return neurons.map(prepareTarget);
}

let sink = 0;
function scoreAll(targets: PreparedTarget[], useAlpha: boolean): void {
  const smat = useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB;
  for (let q = 0; q < n; q++) {
    const query = neurons[q];
    for (let t = 0; t < n; t++) if (t !== q) sink += rawScore(query, targets[t], smat, useAlpha);
  }
}

interface Timing {
  build: number;
  score: number;
  total: number;
  /** CPU seconds (user + system) of build + score: less sensitive to other load on the machine than wall time. */
  cpu: number;
}

function measure(useAlpha: boolean): Timing {
  for (let i = 0; i < 3; i++) scoreAll(buildAll(), useAlpha); // warm-up
  const build: number[] = [];
  const score: number[] = [];
  const total: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const targets = buildAll();
    const t1 = performance.now();
    scoreAll(targets, useAlpha);
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    build.push((t1 - t0) / 1000);
    score.push((t2 - t1) / 1000);
    total.push((t2 - t0) / 1000);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { build: median(build), score: median(score), total: median(total), cpu: median(cpu) };
}

const fmt = (x: number, d = 0): string => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

function report(label: string, t: Timing): void {
  console.log(`${label}:`);
  console.log(
    `  build + score: ${fmt(t.total * 1000, 1)} ms = ${fmt(pairs / t.total)} pairs/s, ${fmt(pointQueries / t.total / 1e6, 2)} M point queries/s` +
      ` (CPU time ${fmt(t.cpu * 1000, 1)} ms = ${fmt(pairs / t.cpu)} pairs/s)`,
  );
  console.log(
    `  trees: ${fmt(t.build * 1000, 2)} ms for ${n} = ${fmt(totalPoints / t.build / 1e6, 2)} M points/s; ` +
      `queries alone: ${fmt(pairs / t.score)} pairs/s, ${fmt(pointQueries / t.score / 1e6, 2)} M point queries/s`,
  );
}

console.log(`kernel bench: ${n} neurons from ${dir}`);
console.log(`  ${fmt(totalPoints)} points, ${fmt(pairs)} ordered pairs, ${fmt(pointQueries)} nearest-neighbour queries per all-by-all`);
console.log(`  node ${process.version}, one thread, median of ${reps} after 3 warm-up runs`);

const plain = measure(false);
report("raw (smat.fcwb)", plain);
// The baseline runs right after our raw run, so both see the same load on the machine.
runBaseline(plain);
report("raw, alpha (smat_alpha.fcwb)", measure(true));

function runBaseline(ours: Timing): void {
  const python = findPython();
  if (!existsSync(BASELINE)) console.log(`baseline: skipped (${BASELINE} not found)`);
  else if (python === undefined) console.log("baseline: skipped (no python3 with numpy and pykdtree)");
  else {
    const p = spawnSync(python, [BASELINE, dir, SMAT_JSON, "--reps", "5"], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: "1" },
    });
    const line = (p.stdout ?? "").trim().split("\n").pop() ?? "";
    let b: { median_s: number; pairs_per_s: number; point_queries_per_s: number } | undefined;
    try {
      b = JSON.parse(line);
    } catch {
      b = undefined;
    }
    if (p.status !== 0 || b === undefined) console.log(`baseline: failed (${(p.stderr ?? "").trim().split("\n").pop() || p.status})`);
    else {
      console.log(
        `baseline numpy+pykdtree (${python}): ${fmt(b.median_s * 1000, 1)} ms = ${fmt(b.pairs_per_s)} pairs/s, ${fmt(b.point_queries_per_s / 1e6, 2)} M point queries/s`,
      );
      console.log(`  ours / baseline (raw, build + score): ${fmt(b.median_s / ours.total, 2)}x`);
    }
  }
}

function findPython(): string | undefined {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const p = spawnSync(py, ["-c", "import numpy, pykdtree"], { stdio: "ignore" });
    if (p.status === 0) return py;
  }
  return undefined;
}

if (!Number.isFinite(sink)) console.log("(non-finite checksum)");
