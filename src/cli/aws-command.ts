/**
 * The AWS backend's commands: `drain` (what each Batch worker runs), `submit aws`, and
 * `redrive`. `status`, `resume` and `cancel` are the shared commands (backend-commands.ts,
 * results-commands.ts), which hand an AWS run to src/backends/aws.
 */
import { InvalidArgumentError, type Command } from "commander";
import { InputError } from "../nblast/errors.ts";
import { createAwsClients, createSqsClient, regionOfQueueUrl } from "../backends/aws/clients.ts";
import { drain, formatDrainSummary } from "../backends/aws/drain.ts";
import { awsBackend } from "../backends/aws/index.ts";
import { MAX_WORKERS } from "../backends/aws/jobs.ts";
import { resolveStack } from "../backends/aws/outputs.ts";
import { formatRedrive, redriveAws } from "../backends/aws/redrive.ts";
import { DEFAULT_WORKERS, formatStarted, submitAws } from "../backends/aws/submit.ts";
import { openStorage } from "../storage/open.ts";
import { CliExit } from "./exit.ts";
import { nonNegativeInt, positiveInt } from "./parse-options.ts";

interface DrainCliOptions {
  queue?: string;
  threads?: number;
  cacheDir?: string;
  waitSeconds: number;
  visibilityTimeout: number;
  heartbeat: number;
  emptyReceives: number;
  retryDelay: number;
}

function waitSeconds(value: string): number {
  const n = nonNegativeInt(value);
  if (n > 20) throw new InvalidArgumentError(`SQS long polls wait at most 20 s, got ${n}`);
  return n;
}

interface SubmitAwsCliOptions {
  run: string;
  workers: number;
  stackOutputs?: string;
  stack?: string;
  name?: string;
  cacheName?: string;
}

export function registerAwsCommands(program: Command, submit: Command): void {
  submit
    .command("aws")
    .description(
      "send a planned run to AWS Batch: a local run is uploaded to the stack's bucket (runs/NAME, its cache to caches/NAME), " +
        "every bin not done is queued (the costliest first), one array job of N workers drains the queue",
    )
    .requiredOption("--run <run-uri>", "a local run folder, or s3://BUCKET/runs/NAME already in the stack's bucket")
    .option("--workers <n>", `workers: the array job's size, at most ${MAX_WORKERS} (capped at the bins to do)`, positiveInt, DEFAULT_WORKERS)
    .option("--stack-outputs <file>", "the stack's outputs, as `cdk deploy --outputs-file FILE` writes them (default: $NBLAST_FANOUT_STACK_OUTPUTS, else NBLAST_FANOUT_BUCKET etc.)")
    .option("--stack <name>", "the stack in the outputs file, when it holds several (default NblastFanoutStack)")
    .option("--name <name>", "a local run's name in the bucket: s3://BUCKET/runs/NAME (default: its folder's name)")
    .option("--cache-name <name>", "where a local cache goes: s3://BUCKET/caches/NAME (default: the run's name)")
    .action(async (o: SubmitAwsCliOptions) => {
      const stack = await resolveStack(o);
      const clients = createAwsClients(stack.region ?? regionOfQueueUrl(stack.queueUrl));
      try {
        const started = await submitAws({
          runUri: o.run,
          stack,
          clients,
          workers: o.workers,
          name: o.name,
          cacheName: o.cacheName,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(`${formatStarted(started)}\n`);
      } finally {
        clients.sqs.destroy();
        clients.batch.destroy();
      }
    });

  program
    .command("redrive")
    .description("AWS runs: move the run's bins from the dead-letter queue back to the queue (and start workers if none runs)")
    .requiredOption("--run <run-uri>", "the run's s3:// prefix")
    .option("--workers <n>", "the size of a new array job, if no worker is running (default: the size first submitted)", positiveInt)
    .action(async (o: { run: string; workers?: number }) => {
      const run = openStorage(o.run);
      if (!(await awsBackend.submitted(run))) throw new InputError(`${run.uri} was never submitted to AWS (no aws/submission.json): there is nothing to redrive`);
      process.stdout.write(`${formatRedrive(await redriveAws(run, { workers: o.workers }))}\n`);
    });

  program
    .command("drain")
    .description("run bins from an SQS queue until it is empty (what each AWS Batch worker runs); exits 0 when drained or on SIGTERM")
    .option("--queue <url>", "the bin queue's URL (default: $NBLAST_FANOUT_QUEUE_URL)")
    .option("--threads <n>", "threads (default: the container's CPU quota, else the machine)", positiveInt)
    .option("--cache-dir <dir>", "where an S3 cache is copied once (default: $NBLAST_FANOUT_CACHE_DIR or ~/.cache/nblast-fanout)")
    .option("--wait-seconds <s>", "long-poll wait of each receive, at most 20", waitSeconds, 20)
    .option("--visibility-timeout <s>", "seconds a received bin stays hidden from other workers, renewed by the heartbeat", positiveInt, 300)
    .option("--heartbeat <s>", "seconds between renewals of the visibility while a bin runs", positiveInt, 100)
    .option("--empty-receives <n>", "empty long polls in a row after which the queue counts as drained", positiveInt, 2)
    .option("--retry-delay <s>", "seconds before a failed bin's message comes back (it goes to the dead-letter queue after the queue's maxReceiveCount)", nonNegativeInt, 60)
    .action(async (o: DrainCliOptions) => {
      const queueUrl = o.queue ?? process.env.NBLAST_FANOUT_QUEUE_URL;
      if (queueUrl === undefined || queueUrl === "") throw new InputError("drain needs --queue URL (or NBLAST_FANOUT_QUEUE_URL)");
      if (o.heartbeat >= o.visibilityTimeout) {
        throw new InputError(`--heartbeat (${o.heartbeat} s) must be shorter than --visibility-timeout (${o.visibilityTimeout} s)`);
      }
      const controller = new AbortController();
      const onSignal = (name: string): void => {
        if (controller.signal.aborted) process.exit(130);
        process.stderr.write(`drain: ${name}: releasing the current bin and stopping\n`);
        controller.abort();
      };
      const onTerm = (): void => onSignal("SIGTERM");
      const onInt = (): void => onSignal("SIGINT");
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
      const sqs = createSqsClient(regionOfQueueUrl(queueUrl));
      try {
        const summary = await drain({
          queueUrl,
          sqs,
          threads: o.threads,
          cacheDir: o.cacheDir,
          waitSeconds: o.waitSeconds,
          visibilitySeconds: o.visibilityTimeout,
          heartbeatSeconds: o.heartbeat,
          emptyReceives: o.emptyReceives,
          retryDelaySeconds: o.retryDelay,
          signal: controller.signal,
        });
        process.stderr.write(`${formatDrainSummary(summary)}\n`);
      } catch (err) {
        if (err instanceof InputError) throw err;
        // The worker's own trouble (the queue unreachable, no permission): 3, which Batch
        // does not retry; bins that fail never end up here.
        throw new CliExit(3, `drain: ${(err as Error).message}`);
      } finally {
        process.off("SIGTERM", onTerm);
        process.off("SIGINT", onInt);
        sqs.destroy();
      }
    });
}
