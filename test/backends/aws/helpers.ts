/**
 * For the AWS backend's tests: a cache whose bins take about a second on one thread (so a
 * worker can be killed in the middle of one), queues with a dead-letter queue, and drain
 * workers run as real processes of the CLI.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { buildCache, openCache, type CacheReader } from "../../../src/cache/index.ts";
import { collectInputs } from "../../../src/inputs/index.ts";
import type { Storage } from "../../../src/storage/types.ts";

export const MAIN = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));
export const KCS20 = fileURLToPath(new URL("../../../samples/kcs20", import.meta.url));

export async function tempDir(label: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `nbf-aws-${label}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * The 20 kcs20 dotprops five times over (100 neurons, R's dotprops as they are): a bin of
 * a 4-bin mean plan is about 1,200 pairs, a second or so on one thread.
 */
export async function buildKc100Cache(out: Storage, scratch: string, copies = 5): Promise<CacheReader> {
  const dir = join(scratch, "kc100-inputs");
  await mkdir(dir, { recursive: true });
  const files = (await readdir(KCS20)).filter((f) => f.endsWith(".csv"));
  for (let c = 0; c < copies; c++) for (const f of files) await copyFile(join(KCS20, f), join(dir, `c${c}_${f}`));
  await buildCache({ inputs: await collectInputs([dir]), out, params: { scale: 1, simplify: undefined, resample: undefined, k: 5 }, precision: "float32", threads: 2 });
  return openCache(out);
}

export interface TestQueues {
  readonly queueUrl: string;
  readonly dlqUrl: string;
}

/** A queue and its dead-letter queue (maxReceiveCount receives, then SQS moves a message there). */
export async function createQueues(sqs: SQSClient, name: string, maxReceiveCount = 3, visibilityTimeout = 30): Promise<TestQueues> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqUrl = dlq.QueueUrl!;
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
  const q = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeout),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: q.QueueUrl!, dlqUrl };
}

/** Every message body on a queue that nobody else reads (a DLQ), received once and left hidden. */
export async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }));
    if ((out.Messages ?? []).length === 0) return bodies;
    for (const m of out.Messages!) bodies.push(m.Body ?? "");
  }
}

export interface Worker {
  readonly child: ChildProcess;
  /** stderr so far. */
  stderr(): string;
  /** Resolves once stderr contains `text` (or rejects when the process ends first). */
  waitFor(text: string | RegExp): Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** A CLI process (`nblast-fanout ARGS`), its stderr watched. */
export function startCli(args: readonly string[], env: Readonly<Record<string, string>>): Worker {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
  });
  let stderr = "";
  const waiters: { test: (s: string) => boolean; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].test(stderr)) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  child.stderr!.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    check();
  });
  child.stdout!.resume();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`the process ended (${code ?? signal}) before its stderr showed what was awaited:\n${stderr}`));
      resolve({ code, signal, stderr });
    });
  });
  return {
    child,
    stderr: () => stderr,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        const test = typeof text === "string" ? (s: string) => s.includes(text) : (s: string) => text.test(s);
        waiters.push({ test, resolve, reject });
        check();
      }),
    exit,
  };
}

/** `drain` with settings short enough for a test (the real ones are 20 s polls and 300 s timeouts). */
export function startDrain(queueUrl: string, env: Readonly<Record<string, string>>, extra: readonly string[] = []): Worker {
  return startCli(
    ["drain", "--queue", queueUrl, "--threads", "1", "--wait-seconds", "1", "--visibility-timeout", "3", "--heartbeat", "1", "--empty-receives", "3", "--retry-delay", "0", ...extra],
    env,
  );
}

export interface MotoStack {
  /** The outputs file, as `cdk deploy --outputs-file` writes it. */
  readonly outputsFile: string;
  readonly bucket: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
}

const MOTO_STACK = fileURLToPath(new URL("./moto_stack.py", import.meta.url));

/** What the CDK stack makes (bucket, queues, Batch), made in moto by moto_stack.py. */
export async function createMotoStack(
  endpoint: string,
  dir: string,
  spec: { name: string; image: string; environment?: Record<string, string>; command?: string[]; visibilityTimeout?: number; maxReceiveCount?: number },
): Promise<MotoStack> {
  const r = spawnSync("python3", [MOTO_STACK, JSON.stringify({ endpoint, ...spec })], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`moto_stack.py failed:\n${r.stderr}`);
  const outputsFile = join(dir, `${spec.name}-outputs.json`);
  await writeFile(outputsFile, r.stdout);
  const o = (JSON.parse(r.stdout) as { NblastFanoutStack: Record<string, string> }).NblastFanoutStack;
  return { outputsFile, bucket: o.BucketName, queueUrl: o.QueueUrl, dlqUrl: o.DeadLetterQueueUrl, jobQueue: o.JobQueueArn, jobDefinition: o.JobDefinitionArn };
}

/** Every line moto's Batch stored in CloudWatch Logs (/aws/batch/job), one stream per child, by stream. */
export function motoBatchLogs(endpoint: string): Record<string, string[]> {
  const script = `
import json, sys, boto3
logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
out = {}
for s in logs.describe_log_streams(logGroupName="/aws/batch/job").get("logStreams", []):
    name = s["logStreamName"]
    out[name] = [e["message"] for e in logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=name, startFromHead=True)["events"]]
print(json.dumps(out))
`;
  const r = spawnSync("python3", ["-c", script, endpoint], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`reading moto's logs failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string[]>;
}
