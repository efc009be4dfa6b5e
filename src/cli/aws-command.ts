/**
 * The AWS backend's commands: `drain` (what each Batch worker runs), `submit aws`, and
 * `redrive`. `status`, `resume` and `cancel` are the shared commands (backend-commands.ts,
 * results-commands.ts), which hand an AWS run to src/backends/aws.
 */
import { InvalidArgumentError, type Command } from "commander";
import { InputError } from "../nblast/errors.ts";
import { createSqsClient, regionOfQueueUrl } from "../backends/aws/clients.ts";
import { drain, formatDrainSummary } from "../backends/aws/drain.ts";
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

export function registerAwsCommands(program: Command, submit: Command): void {
  void submit;
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
