/**
 * Where the stack's resources are: from the file `cdk deploy --outputs-file FILE` writes
 * (`{ "NblastFanoutStack": { "BucketName": ..., "QueueUrl": ..., ... } }`), or from the
 * environment (the start Lambda's variables, or NBLAST_FANOUT_* for the CLI).
 */
import { readFile } from "node:fs/promises";
import * as z from "zod";
import { InputError } from "../../nblast/errors.ts";
import type { StackConfig } from "./submission.ts";

/** The stack's CfnOutput keys (AWS-CONTRACT.md). */
const outputsSchema = z.looseObject({
  BucketName: z.string().min(1),
  QueueUrl: z.string().min(1),
  DeadLetterQueueUrl: z.string().min(1),
  JobQueueArn: z.string().min(1),
  JobDefinitionArn: z.string().min(1),
  Region: z.string().min(1).optional(),
});

const REQUIRED = ["BucketName", "QueueUrl", "DeadLetterQueueUrl", "JobQueueArn", "JobDefinitionArn"] as const;

/** Reads a `cdk deploy --outputs-file` file; with several stacks in it, the one named NblastFanoutStack (or `stack`). */
export async function readStackOutputs(path: string, stack?: string): Promise<StackConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new InputError(`cannot read the stack outputs (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { source: path });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message})`, { source: path });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InputError(`expected { "StackName": { "BucketName": ..., ... } } as cdk deploy --outputs-file writes`, { source: path });
  }
  const stacks = Object.entries(raw as Record<string, unknown>);
  const candidates = stack !== undefined ? stacks.filter(([k]) => k === stack) : stacks.filter(([, v]) => typeof v === "object" && v !== null && "QueueUrl" in v);
  let chosen = candidates;
  if (stack === undefined && candidates.length > 1) chosen = candidates.filter(([k]) => k === "NblastFanoutStack");
  if (chosen.length !== 1) {
    const names = stacks.map(([k]) => k).join(", ") || "none";
    throw new InputError(
      stack !== undefined
        ? `no stack named ${stack} in the outputs (stacks: ${names})`
        : `${candidates.length === 0 ? "no" : "more than one"} nblast-fanout stack in the outputs (stacks: ${names}); name one with --stack`,
      { source: path },
    );
  }
  const [name, value] = chosen[0];
  const parsed = outputsSchema.safeParse(value);
  if (!parsed.success) {
    const missing = REQUIRED.filter((k) => typeof (value as Record<string, unknown>)[k] !== "string");
    throw new InputError(`stack ${name} lacks the outputs ${missing.join(", ") || parsed.error.issues[0].message} (is it an nblast-fanout stack?)`, { source: path });
  }
  const o = parsed.data;
  return {
    region: o.Region,
    bucket: o.BucketName,
    queueUrl: o.QueueUrl,
    deadLetterQueueUrl: o.DeadLetterQueueUrl,
    jobQueue: o.JobQueueArn,
    jobDefinition: o.JobDefinitionArn,
  };
}

/**
 * The stack from the environment: the Lambdas' BUCKET, QUEUE_URL, DLQ_URL, JOB_QUEUE,
 * JOB_DEFINITION, or the CLI's NBLAST_FANOUT_BUCKET, NBLAST_FANOUT_QUEUE_URL,
 * NBLAST_FANOUT_DLQ_URL, NBLAST_FANOUT_JOB_QUEUE, NBLAST_FANOUT_JOB_DEFINITION. Undefined
 * when none is set; an InputError naming what is missing when only some are.
 */
export function stackFromEnv(env: NodeJS.ProcessEnv = process.env): StackConfig | undefined {
  const pick = (cli: string, lambda: string): string | undefined => env[`NBLAST_FANOUT_${cli}`] || env[lambda] || undefined;
  const v = {
    bucket: pick("BUCKET", "BUCKET"),
    queueUrl: pick("QUEUE_URL", "QUEUE_URL"),
    deadLetterQueueUrl: pick("DLQ_URL", "DLQ_URL"),
    jobQueue: pick("JOB_QUEUE", "JOB_QUEUE"),
    jobDefinition: pick("JOB_DEFINITION", "JOB_DEFINITION"),
  };
  const names: Record<keyof typeof v, string> = {
    bucket: "NBLAST_FANOUT_BUCKET",
    queueUrl: "NBLAST_FANOUT_QUEUE_URL",
    deadLetterQueueUrl: "NBLAST_FANOUT_DLQ_URL",
    jobQueue: "NBLAST_FANOUT_JOB_QUEUE",
    jobDefinition: "NBLAST_FANOUT_JOB_DEFINITION",
  };
  const missing = (Object.keys(v) as (keyof typeof v)[]).filter((k) => v[k] === undefined);
  if (missing.length === Object.keys(v).length) return undefined;
  if (missing.length > 0) throw new InputError(`the stack is only partly named in the environment: set ${missing.map((k) => names[k]).join(", ")} too (or pass --stack-outputs FILE)`);
  return { region: env.AWS_REGION || undefined, ...(v as Required<typeof v>) } as StackConfig;
}

/** --stack-outputs FILE, else $NBLAST_FANOUT_STACK_OUTPUTS, else the environment. */
export async function resolveStack(opts: { stackOutputs?: string; stack?: string }, env: NodeJS.ProcessEnv = process.env): Promise<StackConfig> {
  const file = opts.stackOutputs ?? (env.NBLAST_FANOUT_STACK_OUTPUTS || undefined);
  if (file !== undefined) return readStackOutputs(file, opts.stack);
  const fromEnv = stackFromEnv(env);
  if (fromEnv !== undefined) return fromEnv;
  throw new InputError(
    "where is the stack? pass --stack-outputs FILE (written by `cdk deploy --outputs-file FILE`), " +
      "or set NBLAST_FANOUT_STACK_OUTPUTS, or NBLAST_FANOUT_BUCKET, NBLAST_FANOUT_QUEUE_URL, NBLAST_FANOUT_DLQ_URL, NBLAST_FANOUT_JOB_QUEUE and NBLAST_FANOUT_JOB_DEFINITION",
  );
}
