/**
 * NBLAST kernel speed: the raw forward all-by-all of a folder of R dotprops CSVs
 * (every ordered pair but the diagonal, one k-d tree per target built once, one
 * thread), as /work/shared/baseline/numpy_nblast.py measures it, and that
 * baseline (NumPy + pykdtree) in the same run when python3 has numpy and pykdtree.
 *
 * It also measures, in the same run, the kernel of an earlier commit (`--base REF`,
 * default the last commit before the neighbour search followed nabor's tie rule),
 * extracted with `git archive` into a temp folder, so a change's cost is printed as
 * a ratio measured under the same load.
 *
 *   npm run bench                       # kcs20 fixtures
 *   node bench/kernel.bench.ts [DOTPROPS_DIR] [--reps N] [--base REF | --no-base]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseDotpropsCsv } from "../src/nblast/dotprops-csv.ts";
import * as current from "../src/nblast/score.ts";
import * as currentSmat from "../src/nblast/smat.ts";
import type { Dotprops } from "../src/nblast/types.ts";

/** The two modules the kernel is made of, from this tree or from an earlier commit. */
interface Kernel {
  label: string;
  score: Pick<typeof current, "prepareTarget" | "rawScore">;
  smat: Pick<typeof currentSmat, "SMAT_FCWB" | "SMAT_ALPHA_FCWB">;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
let reps = 7;
const r = args.indexOf("--reps");
if (r >= 0) {
  reps = Number(args[r + 1]);
  args.splice(r, 2);
}
// The commit before nabor's tie rule (src/nblast/nabor-tree.ts) entered the scoring search.
let baseRef: string | undefined = "7c49b91";
const b = args.indexOf("--base");
if (b >= 0) {
  baseRef = args[b + 1];
  args.splice(b, 2);
}
const nb = args.indexOf("--no-base");
if (nb >= 0) {
  baseRef = undefined;
  args.splice(nb, 1);
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

type Prepared = ReturnType<Kernel["score"]["prepareTarget"]>;

function buildAll(k: Kernel): Prepared[] {
  return neurons.map((d) => k.score.prepareTarget(d));
}

let sink = 0;
function scoreAll(k: Kernel, targets: Prepared[], useAlpha: boolean): number {
  const smat = useAlpha ? k.smat.SMAT_ALPHA_FCWB : k.smat.SMAT_FCWB;
  let sum = 0;
  for (let q = 0; q < n; q++) {
    const query = neurons[q];
    for (let t = 0; t < n; t++) if (t !== q) sum += k.score.rawScore(query, targets[t], smat, useAlpha);
  }
  sink += sum;
  return sum;
}

interface Timing {
  build: number;
  score: number;
  total: number;
  /** CPU seconds (user + system) of build + score: less sensitive to other load on the machine than wall time. */
  cpu: number;
}

/** Median timings of each kernel, their repetitions interleaved so that both see the same load. */
function measure(kernels: readonly Kernel[], useAlpha: boolean): Timing[] {
  for (let i = 0; i < 3; i++) for (const k of kernels) scoreAll(k, buildAll(k), useAlpha); // warm-up
  const runs = kernels.map(() => ({ build: [] as number[], score: [] as number[], total: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < reps; i++) {
    kernels.forEach((k, j) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const targets = buildAll(k);
      const t1 = performance.now();
      scoreAll(k, targets, useAlpha);
      const t2 = performance.now();
      const c = process.cpuUsage(c0);
      runs[j].build.push((t1 - t0) / 1000);
      runs[j].score.push((t2 - t1) / 1000);
      runs[j].total.push((t2 - t0) / 1000);
      runs[j].cpu.push((c.user + c.system) / 1e6);
    });
  }
  return runs.map((x) => ({ build: median(x.build), score: median(x.score), total: median(x.total), cpu: median(x.cpu) }));
}

/** The kernel of commit `ref`, from `git archive` of its src/nblast, or undefined (with why) when git cannot give it. */
async function kernelAt(ref: string): Promise<Kernel | string> {
  const dir = mkdtempSync(join(tmpdir(), "nblast-kernel-"));
  const archive = spawnSync("sh", ["-c", `git -C "${ROOT}" archive "${ref}" src/nblast | tar -x -C "${dir}"`], { encoding: "utf8" });
  if (archive.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `git archive ${ref} failed: ${(archive.stderr ?? "").trim().split("\n")[0]}`;
  }
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const score = (await import(pathToFileURL(join(dir, "src/nblast/score.ts")).href)) as Kernel["score"];
  const smat = (await import(pathToFileURL(join(dir, "src/nblast/smat.ts")).href)) as Kernel["smat"];
  return { label: `commit ${ref}`, score, smat };
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

const kernels: Kernel[] = [{ label: "this tree", score: current, smat: currentSmat }];
if (baseRef !== undefined) {
  const base = await kernelAt(baseRef);
  if (typeof base === "string") console.log(`  (no comparison with an earlier commit: ${base})`);
  else kernels.push(base);
}

const plain = measure(kernels, false);
report("raw (smat.fcwb)", plain[0]);
// The baseline runs right after our raw run, so both see the same load on the machine.
runBaseline(plain[0]);
const alpha = measure(kernels, true);
report("raw, alpha (smat_alpha.fcwb)", alpha[0]);
if (kernels.length > 1) {
  const same = [false, true].map((a) => scoreAll(kernels[0], buildAll(kernels[0]), a) === scoreAll(kernels[1], buildAll(kernels[1]), a));
  console.log(`${kernels[1].label}, same run (scores summed: ${same.every(Boolean) ? "identical" : "different"} to this tree's):`);
  report("  raw", plain[1]);
  report("  raw, alpha", alpha[1]);
  console.log(
    `  this tree / ${kernels[1].label}: raw ${fmt(plain[1].total / plain[0].total, 3)}x, alpha ${fmt(alpha[1].total / alpha[0].total, 3)}x ` +
      `(CPU time: ${fmt(plain[1].cpu / plain[0].cpu, 3)}x, ${fmt(alpha[1].cpu / alpha[0].cpu, 3)}x)`,
  );
  const tied = buildAll(kernels[0]) as current.PreparedTarget[];
  scoreAll(kernels[0], tied, false);
  const resolved = tied.reduce((s, t) => s + t.ties.resolved, 0);
  console.log(`  queries resolved by nabor's tree (ties): ${fmt(resolved)} of ${fmt(pointQueries)} (${fmt((100 * resolved) / pointQueries, 3)}%)`);
}

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
