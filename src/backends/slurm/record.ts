/**
 * RUN/slurm/submission.json: what `submit slurm` (and later `resume`) sent to the
 * cluster, so that `status`, `resume` and `cancel` need nothing but the run's folder: the
 * request, and each array's job id, script, bins and task layout. No secrets: the
 * environment sbatch passes on is never written down.
 */
import * as z from "zod";
import { InputError } from "../../nblast/errors.ts";
import { NotFoundError, type Storage } from "../../storage/types.ts";
import { RUNTIMES } from "./request.ts";

export const SUBMISSION_KEY = "slurm/submission.json";
export const SUBMISSION_FORMAT = "nblast-fanout/slurm-submission";
export const SUBMISSION_VERSION = 1;

const arraySchema = z.strictObject({
  /** The array's job id (sbatch --parsable); tasks are JOBID_INDEX. "" until submitted (a --dry-run's scripts). */
  jobId: z.string(),
  /** The sbatch script, relative to the run. */
  script: z.string().min(1),
  offset: z.int().nonnegative(),
  perTask: z.int().positive(),
  /** Array indices as ranges ("0-9,12"). */
  indices: z.string(),
  /** Bins this array runs, as ranges. */
  bins: z.string(),
  by: z.enum(["submit", "resume"]),
  submittedAt: z.string(),
});

export type SubmittedArray = z.infer<typeof arraySchema>;

export const submissionSchema = z.strictObject({
  format: z.literal(SUBMISSION_FORMAT),
  version: z.literal(SUBMISSION_VERSION),
  /** The run folder, absolute, as the scripts name it. */
  run: z.string().min(1),
  /** The manifest's digest: a record belongs to one plan. */
  manifest: z.string(),
  cluster: z.string(),
  /** "written": --dry-run, the scripts await slurm/submit.sh (whose job ids land in slurm/job-ids.txt). */
  state: z.enum(["written", "submitted", "cancelled"]),
  createdAt: z.string(),
  updatedAt: z.string(),
  request: z.strictObject({
    partition: z.string(),
    account: z.string().optional(),
    qos: z.string().optional(),
    cpusPerTask: z.int().positive(),
    memory: z.strictObject({ per: z.enum(["cpu", "node"]), text: z.string(), mb: z.number() }).optional(),
    time: z.strictObject({ text: z.string(), seconds: z.number() }).optional(),
    maxParallel: z.int().positive().optional(),
    binsPerTask: z.int().positive(),
    runtime: z.enum(RUNTIMES),
    image: z.string().optional(),
    sbatchArgs: z.array(z.string()),
  }),
  arrays: z.array(arraySchema),
  /** The job that exports or loads the result once every array has succeeded. */
  then: z.strictObject({ kind: z.enum(["export", "load"]), jobId: z.string(), script: z.string(), out: z.string().optional() }).optional(),
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
  const r = submissionSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(`not a Slurm submission record: ${issue.path.join(".") || "(top)"}: ${issue.message}`, { source });
  }
  return r.data;
}

/**
 * The record with the job ids that slurm/submit.sh appended to slurm/job-ids.txt
 * ("array-0.sbatch 1234") filled in, for scripts written by --dry-run and submitted by hand.
 */
export async function withHandSubmittedIds(run: Storage, s: Submission): Promise<Submission> {
  if (s.state !== "written") return s;
  let text: string;
  try {
    text = new TextDecoder().decode(await run.get(JOB_IDS_KEY));
  } catch (err) {
    if (err instanceof NotFoundError) return s;
    throw err;
  }
  const ids = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [script, id] = line.trim().split(/\s+/);
    if (script !== undefined && id !== undefined && /^\d+$/.test(id)) ids.set(script, id);
  }
  const arrays = s.arrays.map((a) => ({ ...a, jobId: a.jobId || (ids.get(a.script.replace(/^slurm\//, "")) ?? "") }));
  const then = s.then === undefined ? undefined : { ...s.then, jobId: s.then.jobId || (ids.get(s.then.script.replace(/^slurm\//, "")) ?? "") };
  const submitted = arrays.some((a) => a.jobId !== "");
  return { ...s, arrays, then, state: submitted ? "submitted" : "written" };
}

export const JOB_IDS_KEY = "slurm/job-ids.txt";

export async function writeSubmission(run: Storage, s: Submission): Promise<void> {
  await run.put(SUBMISSION_KEY, `${JSON.stringify(s, null, 2)}\n`);
}
