/**
 * NBLAST kernel speed: the raw forward all-by-all of folders of R dotprops CSVs (every
 * ordered pair but the diagonal, one k-d tree per target built once, one thread), as
 * ../shared/baseline/numpy_nblast.py measures it, beside that baseline (NumPy + pykdtree,
 * as fast as navis) in the same run when python3 has numpy and pykdtree.
 *
 * Data sets: kcs20 (the test fixtures) and, when the shared folder has it, synth200
 * (200 rigidly moved copies of kcs20 spread in space). For each it prints, measured under
 * the same load (repetitions interleaved):
 * - this tree's kernel, and the ratio against the baseline;
 * - the kernel of an earlier commit (`--base REF`, default the commit before this
 *   kernel's search; extracted with `git archive` into a temp folder), and the ratio;
 *   the two kernels' scores are compared pair by pair (they must be identical);
 * - 1 and 2 threads sharing the prepared targets in one SharedArrayBuffer (as the worker's
 *   threads do), and the speed-up.
 *
 *   npm run bench
 *   node bench/kernel.bench.ts [DOTPROPS_DIR...] [--reps N] [--base REF | --no-base] [--threads 1,2]
 *
 * The machine may be shared: CPU time (user + system) is printed beside wall time; the
 * ratios against the baseline and the earlier commit use CPU time (the baseline is made to
 * time itself with time.process_time), the thread scaling wall time.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { parseDotpropsCsv } from "../src/nblast/dotprops-csv.ts";
import * as current from "../src/nblast/score.ts";
import * as currentSmat from "../src/nblast/smat.ts";
import type { Dotprops } from "../src/nblast/types.ts";
import type { ThreadData } from "./kernel-thread.ts";

/** The two modules the kernel is made of, from this tree or from an earlier commit. */
interface Kernel {
  label: string;
  score: Pick<typeof current, "prepareTarget" | "rawScore">;
  smat: Pick<typeof currentSmat, "SMAT_FCWB" | "SMAT_ALPHA_FCWB">;
  /** Whether rawScore takes a prepared query (points in tree order); earlier kernels take dotprops only. */
  preparedQueries: boolean;
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
function option(name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
}
const repsOption = option("--reps");
// The commit before this kernel's search (iterative, from the previous answer, leaves of 16, queries in tree order).
let baseRef: string | undefined = option("--base") ?? "dde91e1";
const nb = args.indexOf("--no-base");
if (nb >= 0) {
  baseRef = undefined;
  args.splice(nb, 1);
}
const threadCounts = (option("--threads") ?? "1,2").split(",").map(Number);

/** The shared folder: beside the clone (../shared), or beside its parent (a worktree in wt/). */
const SHARED = [join(ROOT, "../shared"), join(ROOT, "../../shared")].find((d) => existsSync(join(d, "baseline")));
const BASELINE = SHARED === undefined ? undefined : join(SHARED, "baseline/numpy_nblast.py");
const SMAT_JSON = join(ROOT, "test/fixtures/reference/smat/smat_fcwb.json");
const KCS20 = join(ROOT, "test/fixtures/reference/kcs20/dotprops");
const SYNTH200 = SHARED === undefined ? undefined : join(SHARED, "reference/synth200");

interface DataSet {
  name: string;
  dir: string;
  neurons: Dotprops[];
  reps: number;
  /** Whether to time the alpha variant too (kcs20 only: it is the same search). */
  alpha: boolean;
}

function load(dir: string, reps: number, alpha: boolean): DataSet {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".csv"))
    .sort();
  const neurons = files.map((f) => parseDotpropsCsv(readFileSync(join(dir, f), "utf8"), f));
  return { name: basename(dir) === "dotprops" ? "kcs20/dotprops" : basename(dir), dir, neurons, reps, alpha };
}

const sets: DataSet[] =
  args.length > 0
    ? args.map((d) => load(d, Number(repsOption ?? 5), true))
    : [
        load(KCS20, Number(repsOption ?? 7), true),
        ...(SYNTH200 !== undefined && existsSync(SYNTH200) ? [load(SYNTH200, Number(repsOption ?? 3), false)] : []),
      ];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

type Prepared = ReturnType<Kernel["score"]["prepareTarget"]>;

/** Every ordered pair but the diagonal, row-major (query, target), into `out`. */
function scoreAll(k: Kernel, neurons: Dotprops[], targets: Prepared[], useAlpha: boolean, out: Float64Array): void {
  const smat = useAlpha ? k.smat.SMAT_ALPHA_FCWB : k.smat.SMAT_FCWB;
  const n = neurons.length;
  let at = 0;
  for (let q = 0; q < n; q++) {
    const query = k.preparedQueries ? targets[q] : neurons[q];
    for (let t = 0; t < n; t++) if (t !== q) out[at++] = k.score.rawScore(query, targets[t], smat, useAlpha);
  }
}

interface Timing {
  build: number;
  score: number;
  total: number;
  /** CPU seconds (user + system) of build + score: less sensitive to other load on the machine than wall time. */
  cpu: number;
}

/** Median timings of each kernel, their repetitions interleaved so that all see the same load; and the scores of the last. */
function measure(set: DataSet, kernels: readonly Kernel[], useAlpha: boolean, warmups: number): { timings: Timing[]; scores: Float64Array[] } {
  const n = set.neurons.length;
  const scores = kernels.map(() => new Float64Array(n * (n - 1)));
  for (let i = 0; i < warmups; i++) {
    kernels.forEach((k, j) => scoreAll(k, set.neurons, set.neurons.map((d) => k.score.prepareTarget(d)), useAlpha, scores[j]));
  }
  const runs = kernels.map(() => ({ build: [] as number[], score: [] as number[], total: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < set.reps; i++) {
    kernels.forEach((k, j) => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const targets = set.neurons.map((d) => k.score.prepareTarget(d));
      const t1 = performance.now();
      scoreAll(k, set.neurons, targets, useAlpha, scores[j]);
      const t2 = performance.now();
      const c = process.cpuUsage(c0);
      runs[j].build.push((t1 - t0) / 1000);
      runs[j].score.push((t2 - t1) / 1000);
      runs[j].total.push((t2 - t0) / 1000);
      runs[j].cpu.push((c.user + c.system) / 1e6);
    });
  }
  return { timings: runs.map((x) => ({ build: median(x.build), score: median(x.score), total: median(x.total), cpu: median(x.cpu) })), scores };
}

/** The kernel of commit `ref`, from `git archive` of its src/nblast, or why git cannot give it. */
async function kernelAt(ref: string): Promise<Kernel | string> {
  const dir = mkdtempSync(join(tmpdir(), "nblast-kernel-"));
  const archive = spawnSync("sh", ["-c", `git -C "${ROOT}" archive "${ref}" src/nblast | tar -x -C "${dir}"`], { encoding: "utf8" });
  if (archive.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `git archive ${ref} failed: ${(archive.stderr ?? "").trim().split("\n")[0]}`;
  }
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const score = (await import(pathToFileURL(join(dir, "src/nblast/score.ts")).href)) as Kernel["score"] & { SCORE_LEAF_SIZE?: number };
  const smat = (await import(pathToFileURL(join(dir, "src/nblast/smat.ts")).href)) as Kernel["smat"];
  return { label: `commit ${ref}`, score, smat, preparedQueries: typeof score.SCORE_LEAF_SIZE === "number" };
}

const fmt = (x: number, d = 0): string => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

function report(set: DataSet, label: string, t: Timing): void {
  const n = set.neurons.length;
  const pairs = n * (n - 1);
  const queries = (n - 1) * set.neurons.reduce((s, d) => s + d.alpha.length, 0);
  console.log(
    `  ${label}: ${fmt(t.total * 1000, 1)} ms = ${fmt(pairs / t.total)} pairs/s; CPU ${fmt(t.cpu * 1000, 1)} ms = ${fmt(pairs / t.cpu)} pairs/s, ` +
      `${fmt((t.cpu / queries) * 1e9, 0)} ns per point query; trees ${fmt(t.build * 1000, 1)} ms`,
  );
}

interface Baseline {
  median_s: number;
  pairs_per_s: number;
}

function runBaseline(set: DataSet): Baseline | string {
  const python = findPython();
  if (BASELINE === undefined || !existsSync(BASELINE)) return "skipped (../shared/baseline/numpy_nblast.py not found)";
  if (python === undefined) return "skipped (no python3 with numpy and pykdtree)";
  const reps = Math.max(2, Math.min(5, set.reps));
  // The baseline times itself with time.perf_counter; handing it time.process_time instead makes
  // its medians CPU seconds, comparable with ours on a machine that other work shares.
  const run = `import runpy, sys, time; time.perf_counter = time.process_time; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")`;
  const p = spawnSync(python, ["-c", run, BASELINE, set.dir, SMAT_JSON, "--reps", String(reps)], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: "1" },
  });
  const line = (p.stdout ?? "").trim().split("\n").pop() ?? "";
  try {
    const b = JSON.parse(line) as Baseline;
    if (p.status === 0) return b;
  } catch {
    // reported below
  }
  return `failed (${(p.stderr ?? "").trim().split("\n").pop() || p.status})`;
}

function findPython(): string | undefined {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const p = spawnSync(py, ["-c", "import numpy, pykdtree"], { stdio: "ignore" });
    if (p.status === 0) return py;
  }
  return undefined;
}

/** Wall seconds of the raw all-by-all on `threads` threads sharing one block of prepared targets (median of reps, interleaved). */
async function threadRuns(set: DataSet, counts: number[], reps: number): Promise<Map<number, number>> {
  const n = set.neurons.length;
  const offsets: number[] = [];
  let bytes = 0;
  for (const d of set.neurons) {
    offsets.push(bytes);
    bytes += current.preparedTargetBytes(d.alpha.length);
  }
  const trees = new SharedArrayBuffer(bytes);
  set.neurons.forEach((d, i) => current.prepareTargetInto(d, trees, offsets[i]));
  const neurons = set.neurons.map((d) => ({ points: Float64Array.from(d.points), vect: Float64Array.from(d.vect), alpha: Float64Array.from(d.alpha) }));
  const max = Math.max(...counts);
  const workers = Array.from({ length: max }, () => new Worker(new URL("./kernel-thread.ts", import.meta.url)));
  const times = new Map<number, number[]>(counts.map((c) => [c, []]));
  const once = async (threads: number): Promise<number> => {
    const control = new SharedArrayBuffer(8);
    const data: ThreadData = { neurons, trees, offsets, control, useAlpha: false };
    const t0 = performance.now();
    const done = workers.slice(0, threads).map(
      (w) =>
        new Promise<{ pairs: number }>((resolve, reject) => {
          const fail = (e: Error): void => reject(e);
          w.once("error", fail);
          w.once("message", (m: { pairs: number }) => {
            w.off("error", fail);
            resolve(m);
          });
          w.postMessage(data);
        }),
    );
    const res = await Promise.all(done);
    const t = (performance.now() - t0) / 1000;
    const pairs = res.reduce((s, r) => s + r.pairs, 0);
    if (pairs !== n * (n - 1)) throw new Error(`threads scored ${pairs} pairs, expected ${n * (n - 1)}`);
    return t;
  };
  for (const c of counts) await once(c); // warm-up: every thread compiles the kernel
  for (let r = 0; r < reps; r++) for (const c of counts) times.get(c)!.push(await once(c));
  await Promise.all(workers.map((w) => w.terminate()));
  return new Map(counts.map((c) => [c, median(times.get(c)!)]));
}

console.log(`kernel bench: node ${process.version}, one thread unless said; medians, repetitions interleaved with the other kernels`);
const kernels: Kernel[] = [{ label: "this tree", score: current, smat: currentSmat, preparedQueries: true }];
if (baseRef !== undefined) {
  const base = await kernelAt(baseRef);
  if (typeof base === "string") console.log(`  (no comparison with an earlier commit: ${base})`);
  else kernels.push(base);
}

for (const set of sets) {
  const n = set.neurons.length;
  const points = set.neurons.reduce((s, d) => s + d.alpha.length, 0);
  console.log(`\n${set.name}: ${n} neurons, ${fmt(points)} points, ${fmt(n * (n - 1))} ordered pairs, ${fmt((n - 1) * points)} point queries; median of ${set.reps}`);
  const plain = measure(set, kernels, false, set.reps > 3 ? 3 : 1);
  // The baseline runs right after our raw runs, so both see the same load on the machine.
  const base = runBaseline(set);
  kernels.forEach((k, j) => report(set, `${k.label}, raw`, plain.timings[j]));
  if (typeof base === "string") console.log(`  baseline numpy+pykdtree: ${base}`);
  else {
    console.log(`  baseline numpy+pykdtree: CPU ${fmt(base.median_s * 1000, 1)} ms = ${fmt(base.pairs_per_s)} pairs/s`);
    kernels.forEach((k, j) => console.log(`  ${k.label} / baseline (CPU time, pairs/s): ${fmt(base.median_s / plain.timings[j].cpu, 2)}x`));
  }
  if (kernels.length > 1) {
    const diff = countDiff(plain.scores[0], plain.scores[1]);
    console.log(
      `  this tree / ${kernels[1].label}: ${fmt(plain.timings[1].total / plain.timings[0].total, 2)}x (wall), ` +
        `${fmt(plain.timings[1].cpu / plain.timings[0].cpu, 2)}x (CPU); scores: ${diff === 0 ? "identical, pair by pair" : `${diff} pairs DIFFER`}`,
    );
  }
  if (set.alpha) {
    const alpha = measure(set, kernels, true, 1);
    kernels.forEach((k, j) => report(set, `${k.label}, alpha`, alpha.timings[j]));
    if (kernels.length > 1) {
      const diff = countDiff(alpha.scores[0], alpha.scores[1]);
      console.log(
        `  alpha, this tree / ${kernels[1].label}: ${fmt(alpha.timings[1].cpu / alpha.timings[0].cpu, 2)}x (CPU); scores: ${diff === 0 ? "identical, pair by pair" : `${diff} pairs DIFFER`}`,
      );
    }
  }
  if (threadCounts.length > 1 || threadCounts[0] !== 1) {
    const t = await threadRuns(set, threadCounts, Math.max(3, set.reps));
    const one = t.get(threadCounts[0])!;
    console.log(
      `  threads (this tree, shared trees, wall time of the pairs): ` +
        threadCounts.map((c) => `${c}: ${fmt(t.get(c)! * 1000, 1)} ms = ${fmt((n * (n - 1)) / t.get(c)!)} pairs/s (${fmt(one / t.get(c)!, 2)}x)`).join("; "),
    );
  }
}

function countDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) d++;
  return d;
}
