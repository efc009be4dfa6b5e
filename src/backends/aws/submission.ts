/**
 * RUN/aws/submission.json: what `submit aws` (or the start Lambda) did with a run, so that
 * `status`, `resume`, `redrive` and `cancel` need nothing but the run's URI: the stack's
 * queue, dead-letter queue, job queue and definition, the array jobs submitted, and which
 * bins were sent to the queue when. No credentials, ever.
 *
 * It is created once with a conditional write (putIfAbsent): whoever creates it (the CLI,
 * or the start Lambda reacting to the manifest's upload) is the one that enqueues the
 * bins and submits the job, so a run is never submitted twice by the two at once. Later
 * updates (resume, cancel) overwrite it: run them one at a time per run.
 */
import * as z from "zod";
import { InputError } from "../../nblast/errors.ts";
import { NotFoundError, type Storage } from "../../storage/types.ts";

export const SUBMISSION_KEY = "aws/submission.json";
export const SUBMISSION_FORMAT = "nblast-fanout/aws-submission";
export const SUBMISSION_VERSION = 1;

const stackSchema = z.strictObject({
  region: z.string().optional(),
  bucket: z.string().min(1),
  queueUrl: z.string().min(1),
  deadLetterQueueUrl: z.string().min(1),
  jobQueue: z.string().min(1),
  jobDefinition: z.string().min(1),
});

export type StackConfig = z.infer<typeof stackSchema>;

const jobSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  /** Workers: the array's size (1: a plain job, Batch arrays have at least 2 children). */
  size: z.int().positive(),
  submittedAt: z.string(),
});

export type SubmittedJob = z.infer<typeof jobSchema>;

const enqueuedSchema = z.strictObject({
  at: z.string(),
  /** The bins sent, as ranges ("0-9,12"); one message each. */
  bins: z.string(),
  count: z.int().nonnegative(),
  by: z.enum(["submit", "lambda", "resume", "redrive"]),
});

export const submissionSchema = z.strictObject({
  format: z.literal(SUBMISSION_FORMAT),
  version: z.literal(SUBMISSION_VERSION),
  /** The run's URI as the messages name it: s3://bucket/runs/name. */
  run: z.string().min(1),
  /** The manifest's digest: a record belongs to one plan. */
  manifest: z.string(),
  /** "submitting": claimed, bins being sent; "cancelled": workers delete this run's messages unrun. */
  state: z.enum(["submitting", "submitted", "cancelled"]),
  by: z.enum(["cli", "lambda"]),
  createdAt: z.string(),
  updatedAt: z.string(),
  stack: stackSchema,
  /** Workers asked for (the array's size when the run was submitted). */
  workers: z.int().positive(),
  jobs: z.array(jobSchema),
  enqueued: z.array(enqueuedSchema),
  cancelledAt: z.string().optional(),
});

export type Submission = z.infer<typeof submissionSchema>;

export async function readSubmission(run: Storage): Promise<Submission | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await run.get(SUBMISSION_KEY);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  const source = `${run.uri}/${SUBMISSION_KEY}`;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message})`, { source });
  }
  const parsed = submissionSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new InputError(`not an nblast-fanout AWS submission record: ${i.path.join(".") || "(root)"}: ${i.message}`, { source });
  }
  return parsed.data;
}

export function serializeSubmission(s: Submission): string {
  return JSON.stringify(submissionSchema.parse(s), null, 2) + "\n";
}

/** Creates the record if there is none; false (writing nothing) when the run already has one. */
export function claimSubmission(run: Storage, s: Submission): Promise<boolean> {
  return run.putIfAbsent(SUBMISSION_KEY, serializeSubmission(s));
}

export async function writeSubmission(run: Storage, s: Submission): Promise<void> {
  await run.put(SUBMISSION_KEY, serializeSubmission({ ...s, updatedAt: new Date().toISOString() }));
}

/** "0-3,7,9-10": bin lists stay short at any size. */
export function formatRanges(bins: readonly number[]): string {
  const sorted = [...new Set(bins)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

export function parseRanges(text: string): number[] {
  const out: number[] = [];
  if (text.trim() === "") return out;
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) throw new InputError(`"${part}" is not a bin or a range of bins (like 3 or 0-9)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let k = a; k <= b; k++) out.push(k);
  }
  return out;
}

/** Every bin this run ever sent to the queue. */
export function enqueuedBins(s: Submission): Set<number> {
  const out = new Set<number>();
  for (const e of s.enqueued) for (const b of parseRanges(e.bins)) out.add(b);
  return out;
}
