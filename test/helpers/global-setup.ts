/**
 * Once per `vitest run`: registers this run as a user of the shared test Docker engine
 * (test/helpers/docker.ts) and, at the end, stops the engine if tests started it and no
 * other vitest run still uses it. A developer's own `scripts/docker-dev.sh up` is left
 * running, and so is any engine when NBLAST_FANOUT_DOCKER_KEEP=1.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../scripts/docker-dev.sh", import.meta.url));

function dockerDir(): string {
  return process.env.NBLAST_FANOUT_DOCKER_DIR || "/tmp/nblast-fanout-docker";
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default function setup(): () => void {
  const users = join(dockerDir(), "users");
  const me = join(users, String(process.pid));
  try {
    mkdirSync(users, { recursive: true });
    writeFileSync(me, "");
  } catch {
    return () => {}; // no writable /tmp: no Docker tests either
  }
  return function teardown(): void {
    rmSync(me, { force: true });
    const marker = join(dockerDir(), ".started-by-tests");
    if (!existsSync(marker) || process.env.NBLAST_FANOUT_DOCKER_KEEP === "1") return;
    const others = readdirSync(users).filter((p) => alive(Number(p)));
    if (others.length > 0) return;
    spawnSync("bash", [SCRIPT, "down"], { stdio: "ignore", env: { ...process.env, NBLAST_FANOUT_DOCKER_DIR: dockerDir() } });
    rmSync(marker, { force: true });
  };
}
