/**
 * A real moto_server (S3, SQS, Batch, IAM, EC2, Logs over HTTP) for the tests, on
 * 127.0.0.1 and a free port of 5100-5199, with the environment its clients need.
 *
 *   const moto = await motoForTests({ env: docker.env });   // skips (or fails under CI) when missing
 *   afterAll(() => moto.ok && moto.stop());
 *
 * moto may ignore SIGTERM: stop() SIGKILLs it by pid. Every server is its own world: one
 * per test file. With DOCKER_HOST (and MOTO_DOCKER_NETWORK_MODE=host) in `env`, its Batch
 * runs each job's containers on that Docker engine.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { missing, type Availability } from "./skip.ts";

export interface TestMoto {
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** Environment for SDK clients (this process or children): endpoint, region, fake keys. */
  readonly env: Readonly<Record<string, string>>;
  /** moto's own log (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

const REGION = "us-east-1";
const PORTS = { first: 5100, last: 5199 };

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function ready(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) return false;
    try {
      const r = await fetch(`${endpoint}/moto-api/`);
      await r.arrayBuffer();
      if (r.ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export async function motoForTests(opts: { env?: Readonly<Record<string, string>> } = {}): Promise<Availability<TestMoto>> {
  if (spawnSync("sh", ["-c", "command -v moto_server"], { stdio: "ignore" }).status !== 0) {
    return missing("moto", "moto_server is not on PATH: python3 -m pip install 'moto[server]'");
  }
  // Start from a random port of the range so that test files running at once rarely collide.
  const span = PORTS.last - PORTS.first + 1;
  const offset = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = PORTS.first + ((offset + i) % span);
    if (!(await portFree(port))) continue;
    const endpoint = `http://127.0.0.1:${port}`;
    let log = "";
    const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
    });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => (log += d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (log += d));
    if (!(await ready(endpoint, child, 30_000))) {
      child.kill("SIGKILL");
      if (/address already in use/i.test(log)) continue;
      throw new Error(`moto_server did not start on port ${port}:\n${log.slice(-2000)}`);
    }
    let stopped = false;
    return {
      ok: true,
      endpoint,
      port,
      region: REGION,
      env: {
        AWS_ENDPOINT_URL: endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
      },
      log: () => log,
      async stop() {
        if (stopped) return;
        stopped = true;
        if (child.exitCode !== null) return;
        const closed = new Promise((r) => child.once("close", r));
        child.kill("SIGKILL"); // moto_server may ignore SIGTERM
        await closed;
      },
    };
  }
  throw new Error(`no free port for moto_server in ${PORTS.first}-${PORTS.last}`);
}
