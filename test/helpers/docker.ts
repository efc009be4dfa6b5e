/**
 * A real Docker engine for the tests, started without systemd by scripts/docker-dev.sh
 * (or found already running), with the locally built base image and, on request, the
 * worker image of container/ built from this checkout.
 *
 *   const docker = await dockerForTests();
 *   describe.skipIf(!docker.ok)("the image", () => {
 *     it("...", async () => {
 *       const image = await workerImage(docker);      // built once per set of inputs
 *       const r = await docker.run(["run", "--rm", "--network", "none", image, "--version"]);
 *     });
 *   });
 *
 * Missing docker.io (dockerd) or debootstrap, or not root: the suite skips with the reason;
 * with CI=true that is a failure. One engine serves every test file and every concurrent
 * vitest run (its folder is NBLAST_FANOUT_DOCKER_DIR, default /tmp/nblast-fanout-docker);
 * test/helpers/global-setup.ts stops it after the last run that used it, if tests started it.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { REPO } from "./cli.ts";
import { missing, type Availability } from "./skip.ts";

const SCRIPT = join(REPO, "scripts", "docker-dev.sh");

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestDocker {
  /** unix://.../docker.sock */
  readonly host: string;
  /** The engine's folder (data, socket, log). */
  readonly dir: string;
  /** { DOCKER_HOST }: for child processes that talk to the engine (moto, scripts). */
  readonly env: Readonly<Record<string, string>>;
  /** The local base image (Debian bookworm + Node 22), for the Dockerfile's BASE. */
  readonly baseImage: string;
  /** Runs the docker client on this engine. */
  run(args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
}

export function dockerDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.NBLAST_FANOUT_DOCKER_DIR || "/tmp/nblast-fanout-docker";
}

/** The marker that tests (not a developer) started the engine, so teardown may stop it. */
export const STARTED_BY_TESTS = ".started-by-tests";

let ready: Promise<Availability<TestDocker>> | undefined;

/** The engine and base image, once per test process. */
export function dockerForTests(): Promise<Availability<TestDocker>> {
  ready ??= prepare();
  return ready;
}

function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

async function prepare(): Promise<Availability<TestDocker>> {
  if (!have("dockerd") || !have("docker")) return missing("Docker", "dockerd or docker is not installed: apt-get install -y docker.io");
  if (process.getuid?.() !== 0) return missing("Docker", "the test engine runs dockerd, which needs root");
  const dir = dockerDir();
  const host = `unix://${join(dir, "docker.sock")}`;
  const env = { DOCKER_HOST: host };
  const baseImage = process.env.NBLAST_FANOUT_BASE_IMAGE || "nblast-fanout-base:bookworm-node22";
  const wasRunning = (await command("bash", [SCRIPT, "status"], { env })).code === 0;
  if (!wasRunning) {
    const up = await command("bash", [SCRIPT, "up"], { env: { NBLAST_FANOUT_DOCKER_DIR: dir } });
    if (up.code !== 0) throw new Error(`scripts/docker-dev.sh up failed:\n${up.stderr}`);
    await writeFile(join(dir, STARTED_BY_TESTS), `${process.pid}\n`);
  }
  const d: TestDocker = {
    host,
    dir,
    env,
    baseImage,
    run: (args, opts) => command("docker", args, { env, ...opts }),
  };
  if ((await d.run(["image", "inspect", baseImage])).code !== 0) {
    // No base image yet: debootstrap is needed unless its root file system is cached.
    if (!have("debootstrap") && !hasCachedRootfs()) {
      return missing("Docker", "debootstrap is not installed (apt-get install -y debootstrap) and no Debian root file system is cached");
    }
    const base = await command("bash", [SCRIPT, "base"], { env: { NBLAST_FANOUT_DOCKER_DIR: dir, NBLAST_FANOUT_BASE_IMAGE: baseImage } });
    if (base.code !== 0) throw new Error(`scripts/docker-dev.sh base failed:\n${base.stderr}`);
  }
  return { ok: true, ...d };
}

function hasCachedRootfs(): boolean {
  const cache = process.env.NBLAST_FANOUT_BASE_CACHE || join(process.env.XDG_CACHE_HOME || join(process.env.HOME ?? "/root", ".cache"), "nblast-fanout", "docker-base");
  return existsSync(join(cache, "bookworm-minbase.tar"));
}

/** What the worker image is built from (besides the base image). */
const IMAGE_INPUTS = ["container", "src", "bin", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", ".dockerignore"];

async function filesUnder(path: string): Promise<string[]> {
  const full = join(REPO, path);
  if (!existsSync(full)) return [];
  const entries = await readdir(full, { withFileTypes: true, recursive: true }).catch(() => undefined);
  if (entries === undefined) return [path]; // a file
  return entries.filter((e) => e.isFile()).map((e) => relative(REPO, join(e.parentPath, e.name)));
}

/** sha256 over the image's inputs and the base image's id: a changed source builds a new image. */
async function imageInputsHash(baseImageId: string): Promise<string> {
  const h = createHash("sha256").update(baseImageId);
  const files = (await Promise.all(IMAGE_INPUTS.map(filesUnder))).flat().sort();
  for (const f of files) h.update(`\0${f}\0`).update(await readFile(join(REPO, f)));
  return h.digest("hex").slice(0, 16);
}

const images = new Map<string, Promise<string>>();

/**
 * The worker image (container/Dockerfile) built from this checkout on the local base image,
 * tagged nblast-fanout-worker:test-<hash of its inputs>: built once, reused by every later
 * test file and run until an input changes. Returns the tag.
 */
export function workerImage(d: TestDocker): Promise<string> {
  let p = images.get(d.host);
  if (p === undefined) {
    p = buildWorkerImage(d);
    images.set(d.host, p);
  }
  return p;
}

async function buildWorkerImage(d: TestDocker): Promise<string> {
  const baseId = (await d.run(["image", "inspect", "--format", "{{.Id}}", d.baseImage])).stdout.trim();
  const tag = `nblast-fanout-worker:test-${await imageInputsHash(baseId)}`;
  if ((await d.run(["image", "inspect", tag])).code === 0) return tag;
  // One build at a time per engine; a second test file waiting here then finds the tag.
  const lock = join(d.dir, ".worker-image.lock");
  const script =
    `docker image inspect "$TAG" >/dev/null 2>&1 && exit 0; ` +
    `DOCKER_BUILDKIT=0 docker build --network host --build-arg BASE="$BASE" -f container/Dockerfile -t "$TAG" .`;
  const started = performance.now();
  const r = await command("flock", [lock, "sh", "-c", script], {
    env: { ...d.env, TAG: tag, BASE: d.baseImage },
    cwd: REPO,
    timeoutMs: 15 * 60_000,
  });
  if (r.code !== 0) throw new Error(`docker build of container/ failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
  const size = (await d.run(["image", "inspect", "--format", "{{.Size}}", tag])).stdout.trim();
  process.stderr.write(`built ${tag} in ${((performance.now() - started) / 1000).toFixed(0)} s, ${(Number(size) / 1e6).toFixed(0)} MB\n`);
  await removeOldTestImages(d, tag);
  return tag;
}

/** Earlier test builds of the image are dead weight in the engine's folder. */
async function removeOldTestImages(d: TestDocker, keep: string): Promise<void> {
  const list = await d.run(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "nblast-fanout-worker"]);
  const old = list.stdout.split("\n").filter((t) => t.startsWith("nblast-fanout-worker:test-") && t !== keep);
  if (old.length > 0) await d.run(["image", "rm", ...old]);
}

/** A command's output and status; never rejects for a non-zero status. */
export function command(
  cmd: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
