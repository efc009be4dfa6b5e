/**
 * A real one-node Slurm cluster for tests (scripts/slurm-dev-cluster.sh), with a small
 * MaxArraySize (5: indices 0-4) so that runs are cut into several arrays. It has its own
 * folder and ports, apart from a developer's own cluster, and is stopped by `stop()`.
 * Missing Slurm skips the suite on a developer's machine and fails it with CI=true.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { missing, type Availability } from "./skip.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/slurm-dev-cluster.sh", import.meta.url));

export interface TestSlurm {
  readonly conf: string;
  readonly env: Readonly<Record<string, string>>;
  /** Runs a Slurm client against this cluster. */
  run(cmd: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string };
  stop(): void;
}

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export function slurmForTests(): Availability<TestSlurm> {
  for (const cmd of ["slurmctld", "slurmd", "munged", "sbatch"]) {
    if (!have(cmd)) return missing("Slurm", `${cmd} is not installed: apt-get install -y slurm-wlm munge`);
  }
  if (process.getuid?.() !== 0) return missing("Slurm", "the test cluster runs slurmd, which needs root");
  const dir = `/tmp/nblast-fanout-slurm-test-${process.pid}`;
  const env = { SLURM_DEV_DIR: dir, SLURM_DEV_MAX_ARRAY: "5", SLURM_DEV_PORT: "16917", SLURM_DEV_MAX_TIME: "0:30:00" };
  const up = spawnSync("bash", [SCRIPT, "up"], { env: { ...process.env, ...env }, encoding: "utf8" });
  if (up.status !== 0) throw new Error(`scripts/slurm-dev-cluster.sh up failed:\n${up.stderr}`);
  const conf = `${dir}/slurm.conf`;
  // The CLI under test, and the jobs it submits, find the cluster through SLURM_CONF.
  process.env.SLURM_CONF = conf;
  const clientEnv = { SLURM_CONF: conf };
  return {
    ok: true,
    conf,
    env: clientEnv,
    run: (cmd, args) => {
      const r = spawnSync(cmd, [...args], { env: { ...process.env, ...clientEnv }, encoding: "utf8" });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    stop: () => {
      spawnSync("bash", [SCRIPT, "down"], { env: { ...process.env, ...env }, stdio: "ignore" });
    },
  };
}
