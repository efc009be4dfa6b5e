/**
 * The Slurm backend against a real one-node Slurm 22.05 (scripts/slurm-dev-cluster.sh,
 * MaxArraySize 5): submit, split arrays, bins per task, --then export, status with
 * CANCELLED and OUT_OF_MEMORY, resume of only the missing bins, a requeued task skipping
 * its done bins, --dry-run scripts submitted by hand, refusals before sbatch, and
 * `--runtime docker` on the same cluster.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, REPO } from "../helpers/cli.ts";
import { dockerForTests, workerImage } from "../helpers/docker.ts";
import { slurmForTests } from "../helpers/slurm.ts";

const slurm = slurmForTests();
const KCS20 = join(REPO, "samples", "kcs20");

// One cluster for the whole file: both suites below use it, so only the file stops it.
afterAll(() => {
  if (slurm.ok) slurm.stop();
});

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  return runCli(args, { env: { SLURM_CONF: slurm.ok ? slurm.conf : "", ...env } });
}

function ok(args: string[], env: Record<string, string> = {}): string {
  const r = cli(args, env);
  if (r.status !== 0) throw new Error(`nblast-fanout ${args.join(" ")} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function submission(run: string): {
  state: string;
  arrays: { jobId: string; indices: string; bins: string; by: string; offset: number; perTask: number }[];
  then?: { jobId: string };
} {
  return JSON.parse(readFileSync(join(run, "slurm", "submission.json"), "utf8"));
}

function jobsOf(run: string): string[] {
  const s = submission(run);
  return [...s.arrays.map((a) => a.jobId), ...(s.then === undefined ? [] : [s.then.jobId])].filter((j) => j !== "");
}

/** Waits until none of the jobs is pending or running any more. */
async function settle(jobs: string[], timeoutMs = 150_000): Promise<void> {
  if (!slurm.ok) return;
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = slurm.run("squeue", ["-h", "-r", "-o", "%i %T", "--jobs", jobs.join(",")]);
    if (r.code === 0 && r.stdout.trim() === "") return;
    if (Date.now() > until) throw new Error(`jobs ${jobs.join(",")} still queued after ${timeoutMs / 1000} s:\n${r.stdout}${r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

function sortedRows(csv: string): string[] {
  const lines = csv.trimEnd().split("\n");
  return [lines[0], ...lines.slice(1).sort()];
}

describe.skipIf(!slurm.ok)("Slurm backend on a real one-node cluster", () => {
  let root: string;
  let cache: string;
  let reference: string[];
  let runs = 0;

  const plan = (bins: number): string => {
    const out = join(root, `run${++runs}`);
    ok(["plan", "--cache", cache, "--out", out, "--bins", String(bins)]);
    return out;
  };
  const exported = (run: string): string[] => sortedRows(ok(["export", "--run", run, "--format", "csv", "--out", "-"]));

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "nblast-slurm-"));
    cache = join(root, "cache");
    ok(["cache", "build", "--input", KCS20, "--out", cache]);
    // The local engine's rows: what every Slurm run must store.
    const local = join(root, "local");
    ok(["plan", "--cache", cache, "--out", local, "--bins", "2"]);
    ok(["run", "--resume", local]);
    reference = exported(local);
    expect(reference.length).toBeGreaterThan(100);
  }, 120_000);

  afterAll(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  it("runs 8 bins through --runtime node, cut into 2 arrays at MaxArraySize 5, then exports the merged file", async () => {
    const run = plan(8);
    const out = join(root, "merged.csv");
    const said = ok(["submit", "slurm", "--run", run, "--mem-per-cpu", "1G", "--time", "10:00", "--then", "export", "--then-out", out]);
    expect(said).toMatch(/submitted 2 array job\(s\)/);
    const s = submission(run);
    expect(s.arrays.map((a) => [a.offset, a.indices, a.bins])).toEqual([
      [0, "0-4", "0-4"],
      [5, "0-2", "5-7"],
    ]);
    expect(readFileSync(join(run, "slurm", "array-0.sbatch"), "utf8")).toMatch(/^#SBATCH --array=0-4$/m);
    await settle(jobsOf(run));
    expect(sortedRows(readFileSync(out, "utf8"))).toEqual(reference);
    expect(exported(run)).toEqual(reference);
    const status = ok(["status", "--run", run]);
    expect(status).toMatch(/8 done, 0 failed, 0 pending/);
    expect(status).toMatch(/tasks: 8 COMPLETED/);
    expect(status).toMatch(/then: export job \d+ COMPLETED/);
  }, 180_000);

  it("maps --bins-per-task 3 bins to each index", async () => {
    const run = plan(8);
    ok(["submit", "slurm", "--run", run, "--bins-per-task", "3"]);
    const s = submission(run);
    expect(s.arrays.map((a) => [a.indices, a.perTask, a.bins])).toEqual([["0-2", 3, "0-7"]]);
    await settle(jobsOf(run));
    expect(exported(run)).toEqual(reference);
    const log = readFileSync(join(run, "slurm", "logs", `${s.arrays[0].jobId}_2.log`), "utf8");
    expect(log).toMatch(/bins 6-7/);
    expect(log.match(/^bin [67]: done/gm)).toHaveLength(2);
  }, 180_000);

  it("shows a task cancelled with scancel as CANCELLED, and resume sends only its bins", async () => {
    const run = plan(6);
    // One task at a time, so that task 4 is still pending when it is cancelled.
    ok(["submit", "slurm", "--run", run, "--max-parallel", "1"]);
    const [a] = submission(run).arrays;
    expect(slurm.ok && slurm.run("scancel", [`${a.jobId}_4`]).code).toBe(0);
    await settle(jobsOf(run));
    const status = cli(["status", "--run", run]);
    expect(status.stdout).toMatch(/5 done, 0 failed, 1 pending/);
    expect(status.stdout).toMatch(new RegExp(`task ${a.jobId}_4 CANCELLED \\(removed before it started\\), bins 4 not done`));
    expect(status.stdout).toMatch(/1 bins are neither done nor queued/);
    const resumed = ok(["resume", "--run", run]);
    expect(resumed).toMatch(/resubmitted 1 missing bins as 1 array job\(s\) \(\d+: --array=4\)/);
    const s = submission(run);
    // 6 bins at MaxArraySize 5: arrays 0-4 and 5, then the resume's.
    expect(s.arrays).toHaveLength(3);
    expect(s.arrays[2]).toMatchObject({ by: "resume", indices: "4", bins: "4" });
    await settle(jobsOf(run));
    expect(exported(run)).toEqual(reference);
    expect(ok(["status", "--run", run])).toMatch(/every bin is done/);
    expect(ok(["resume", "--run", run])).toMatch(/nothing to resume: every bin is done/);
  }, 180_000);

  it("shows a task that outgrew its --mem as OUT_OF_MEMORY with the hint, and resumes with more", async () => {
    const run = plan(2);
    ok(["submit", "slurm", "--run", run, "--mem", "40M"]);
    await settle(jobsOf(run));
    const status = cli(["status", "--run", run]);
    expect(status.stdout).toMatch(/OUT_OF_MEMORY/);
    expect(status.stdout).toMatch(/hint: it ran out of memory \(--mem 40M\): resume with more, e\.g\. `resume --run \S+ --mem 80M`/);
    ok(["resume", "--run", run, "--mem", "1G"]);
    await settle(jobsOf(run));
    expect(ok(["status", "--run", run])).toMatch(/2 done, 0 failed, 0 pending/);
    expect(submission(run).arrays.map((a) => a.by)).toEqual(["submit", "resume"]);
    expect(readFileSync(join(run, "slurm", "resume-0.sbatch"), "utf8")).toMatch(/^#SBATCH --mem=1G$/m);
  }, 180_000);

  it("a requeued task skips the bins it already did", async () => {
    const run = plan(3);
    ok(["submit", "slurm", "--run", run, "--bins-per-task", "3"]);
    const [a] = submission(run).arrays;
    await settle([a.jobId]);
    // Requeue takes a finished job only once slurmctld has it COMPLETED (not COMPLETING).
    while (slurm.ok && !/JobState=COMPLETED/.test(slurm.run("scontrol", ["show", "job", `${a.jobId}_0`]).stdout)) await new Promise((res) => setTimeout(res, 200));
    // slurmd revokes a finished job's credential with a time stamp in whole seconds, and
    // refuses (the task FAILS at once) a relaunch whose new credential is from that same
    // second; Slurm's own two-minute BeginTime after a requeue exists for this. The test
    // releases the job at once, so it first lets the second of revocation pass.
    await new Promise((res) => setTimeout(res, 3_000));
    const markers = readdirSync(join(run, "done")).map((f) => readFileSync(join(run, "done", f), "utf8"));
    const task = `${a.jobId}_0`;
    expect(slurm.ok && slurm.run("scontrol", ["requeue", task]).code).toBe(0);
    const log = join(run, "slurm", "logs", `${task}.log`);
    const until = Date.now() + 90_000;
    while (!/restart 1\)[\s\S]*nblast-fanout task: done/.test(readFileSync(log, "utf8"))) {
      if (Date.now() > until) {
        const job = slurm.ok ? slurm.run("scontrol", ["show", "job", task]).stdout : "";
        throw new Error(`the requeued task did not finish:\n${readFileSync(log, "utf8")}\n${job}`);
      }
      // A requeued job waits two minutes (BeginTime) unless released; the hold may be set
      // a moment after `requeue` returns, so release it until the task starts.
      if (slurm.ok) slurm.run("scontrol", ["update", `jobid=${task}`, "StartTime=now"]);
      await new Promise((res) => setTimeout(res, 500));
    }
    const second = readFileSync(log, "utf8").split(/(?=nblast-fanout task \S+ \(job \d+, restart 1\))/)[1];
    expect(second.match(/^bin \d: skipped, already done/gm)).toHaveLength(3);
    expect(readdirSync(join(run, "done")).map((f) => readFileSync(join(run, "done", f), "utf8"))).toEqual(markers);
  }, 180_000);

  it("--dry-run writes scripts that pass bash -n, and submit.sh run by hand is followed by status", async () => {
    const run = plan(6);
    const said = ok(["submit", "slurm", "--run", run, "--dry-run", "--then", "export", "--cpus-per-task", "2"]);
    expect(said).toMatch(/nothing submitted/);
    expect(said).toContain(`bash ${run}/slurm/submit.sh`);
    expect(submission(run).state).toBe("written");
    const scripts = readdirSync(join(run, "slurm")).filter((f) => /\.(sbatch|sh)$/.test(f));
    expect(scripts.sort()).toEqual(["array-0.sbatch", "array-1.sbatch", "submit.sh", "then-export.sbatch"]);
    for (const f of scripts) {
      const r = spawnSync("bash", ["-n", join(run, "slurm", f)], { encoding: "utf8" });
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
    }
    expect(readFileSync(join(run, "slurm", "array-0.sbatch"), "utf8")).toMatch(/^#SBATCH --cpus-per-task=2$/m);
    expect(existsSync(join(run, "done", "0.json"))).toBe(false);
    const byHand = spawnSync("bash", [join(run, "slurm", "submit.sh")], { encoding: "utf8", env: { ...process.env, SLURM_CONF: slurm.ok ? slurm.conf : "" } });
    expect(byHand.status, byHand.stderr).toBe(0);
    const ids = readFileSync(join(run, "slurm", "job-ids.txt"), "utf8").trim().split("\n").map((l) => l.split(" ")[1]);
    expect(ids).toHaveLength(3);
    await settle(ids);
    const status = ok(["status", "--run", run]);
    expect(status).toMatch(/6 done/);
    expect(status).toMatch(/tasks: 6 COMPLETED/);
    expect(existsSync(join(run, "result.parquet"))).toBe(true);
  }, 180_000);

  it("refuses impossible requests before sbatch, naming the cluster's limit", () => {
    const run = plan(2);
    const cpus = cli(["submit", "slurm", "--run", run, "--cpus-per-task", "64"]);
    expect(cpus.status).toBe(2);
    expect(cpus.stderr).toMatch(/--cpus-per-task 64 is more than any node of partition debug has: its largest node has \d+ CPUs/);
    const part = cli(["submit", "slurm", "--run", run, "--partition", "gpu"]);
    expect(part.stderr).toMatch(/partition "gpu" does not exist on cluster nblastdev: its partitions are debug/);
    const time = cli(["submit", "slurm", "--run", run, "--time", "2:00:00"]);
    expect(time.stderr).toMatch(/--time 2:00:00 \(02:00:00\) is over partition debug's MaxTime of 00:30:00/);
    const mem = cli(["submit", "slurm", "--run", run, "--mem", "100T"]);
    expect(mem.stderr).toMatch(/--mem 100T .* is more than any node of partition debug with 1 CPUs has: the largest has \d+ MB/);
    const sbatchRefusal = cli(["submit", "slurm", "--run", run, "--sbatch-arg=--nodes=7"]);
    expect(sbatchRefusal.status).toBe(2);
    expect(sbatchRefusal.stderr).toMatch(/sbatch refused slurm\/array-0.sbatch: Batch job submission failed: More processors requested than permitted; ask for fewer/);
    for (const r of [cpus, part, time, mem]) expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(run, "slurm", "submission.json"))).toBe(false);
  });
});

const docker = slurm.ok ? await dockerForTests() : ({ ok: false } as const);

describe.skipIf(!slurm.ok || !docker.ok)("Slurm backend with --runtime docker", () => {
  it("runs the worker image in each task and stores the local engine's rows", async () => {
    if (!docker.ok || !slurm.ok) return;
    const image = await workerImage(docker);
    const root = mkdtempSync(join(tmpdir(), "nblast-slurm-docker-"));
    try {
      const cache = join(root, "cache");
      ok(["cache", "build", "--input", KCS20, "--out", cache]);
      const local = join(root, "local");
      ok(["plan", "--cache", cache, "--out", local, "--bins", "1"]);
      ok(["run", "--resume", local]);
      const run = join(root, "run");
      ok(["plan", "--cache", cache, "--out", run, "--bins", "3"]);
      ok(["submit", "slurm", "--run", run, "--runtime", "docker", "--image", image], docker.env);
      const s = submission(run);
      expect(readFileSync(join(run, "slurm", "array-0.sbatch"), "utf8")).toContain("docker run --rm");
      await settle(jobsOf(run), 240_000);
      const log = readFileSync(join(run, "slurm", "logs", `${s.arrays[0].jobId}_0.log`), "utf8");
      expect(log).toMatch(/bin 0: done/);
      expect(sortedRows(ok(["export", "--run", run, "--format", "csv", "--out", "-"]))).toEqual(
        sortedRows(ok(["export", "--run", local, "--format", "csv", "--out", "-"])),
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 900_000);
});
