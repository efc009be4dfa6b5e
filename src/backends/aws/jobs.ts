/**
 * AWS Batch for a run: one array job of N workers (each drains the shared queue until it
 * is empty), its children counted by state, and termination. A size of 1 is a plain job:
 * Batch arrays have at least 2 children.
 */
import { DescribeJobsCommand, ListJobsCommand, SubmitJobCommand, TerminateJobCommand, type BatchClient, type JobStatus } from "@aws-sdk/client-batch";
import { InputError } from "../../nblast/errors.ts";
import type { StackConfig, SubmittedJob } from "./submission.ts";

/** Batch's largest array. */
export const MAX_WORKERS = 10_000;

export const JOB_STATES = ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED"] as const;
export type JobState = (typeof JOB_STATES)[number];
const ACTIVE: ReadonlySet<string> = new Set(["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"]);

/** A Batch job name from a run name: letters, digits, '-' and '_', at most 128 characters. */
export function jobName(runName: string): string {
  return `nblast-fanout-${runName.replace(/[^A-Za-z0-9_-]/g, "-")}`.slice(0, 128);
}

export function checkWorkers(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 1 && n <= MAX_WORKERS)) {
    throw new InputError(`--workers must be between 1 and ${MAX_WORKERS} (the largest Batch array), got ${n}`);
  }
  return n;
}

export async function submitWorkers(batch: BatchClient, stack: StackConfig, name: string, size: number): Promise<SubmittedJob> {
  checkWorkers(size);
  const out = await batch.send(
    new SubmitJobCommand({
      jobName: name,
      jobQueue: stack.jobQueue,
      jobDefinition: stack.jobDefinition,
      ...(size >= 2 ? { arrayProperties: { size } } : {}),
      // The job definition names the queue already; saying it again keeps a run's workers on
      // the queue its bins were sent to, whatever the definition's revision says.
      containerOverrides: { environment: [{ name: "NBLAST_FANOUT_QUEUE_URL", value: stack.queueUrl }] },
    }),
  );
  if (out.jobId === undefined) throw new Error(`Batch accepted job ${name} but returned no job id`);
  return { id: out.jobId, name: out.jobName ?? name, size, submittedAt: new Date().toISOString() };
}

export interface JobView {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  /** The job's own status (an array's parent: the summary of its children), or "UNKNOWN" when Batch no longer has it. */
  readonly status: string;
  readonly reason: string | undefined;
  /** Children by state (a plain job counts as its own single child). */
  readonly children: Readonly<Partial<Record<JobState, number>>>;
  /** Any child (or the job) not finished yet. */
  readonly active: boolean;
}

export async function describeJobs(batch: BatchClient, jobs: readonly SubmittedJob[]): Promise<JobView[]> {
  if (jobs.length === 0) return [];
  const found = new Map<string, { status?: string; statusReason?: string; arrayProperties?: { statusSummary?: Record<string, number> } }>();
  for (let i = 0; i < jobs.length; i += 100) {
    const out = await batch.send(new DescribeJobsCommand({ jobs: jobs.slice(i, i + 100).map((j) => j.id) }));
    for (const d of out.jobs ?? []) if (d.jobId !== undefined) found.set(d.jobId, d);
  }
  const views: JobView[] = [];
  for (const j of jobs) {
    const d = found.get(j.id);
    const status = d?.status ?? "UNKNOWN";
    let children: Partial<Record<JobState, number>>;
    if (j.size < 2) children = d?.status === undefined ? {} : { [status as JobState]: 1 };
    else {
      const summary = d?.arrayProperties?.statusSummary;
      const total = summary === undefined ? 0 : Object.values(summary).reduce((a, b) => a + b, 0);
      // Batch refreshes the summary every so often; an emulator may not keep one: count then.
      children = total > 0 ? pickStates(summary!) : d === undefined ? {} : await countChildren(batch, j.id);
    }
    const activeChildren = JOB_STATES.filter((s) => ACTIVE.has(s)).reduce((a, s) => a + (children[s] ?? 0), 0);
    views.push({
      id: j.id,
      name: j.name,
      size: j.size,
      status,
      reason: d?.statusReason,
      children,
      active: activeChildren > 0 || (j.size < 2 ? ACTIVE.has(status) : ACTIVE.has(status) && Object.keys(children).length === 0),
    });
  }
  return views;
}

function pickStates(summary: Record<string, number>): Partial<Record<JobState, number>> {
  const out: Partial<Record<JobState, number>> = {};
  for (const s of JOB_STATES) if ((summary[s] ?? 0) > 0) out[s] = summary[s];
  return out;
}

async function countChildren(batch: BatchClient, arrayJobId: string): Promise<Partial<Record<JobState, number>>> {
  const out: Partial<Record<JobState, number>> = {};
  for (const state of JOB_STATES) {
    let n = 0;
    let nextToken: string | undefined;
    do {
      const page = await batch.send(new ListJobsCommand({ arrayJobId, jobStatus: state as JobStatus, nextToken, maxResults: 1000 }));
      n += page.jobSummaryList?.length ?? 0;
      nextToken = page.nextToken;
    } while (nextToken !== undefined);
    if (n > 0) out[state] = n;
  }
  return out;
}

/** Terminates jobs (an array's parent takes its children with it); resolves to how many were asked. */
export async function terminateJobs(batch: BatchClient, jobs: readonly SubmittedJob[], reason: string): Promise<number> {
  for (const j of jobs) await batch.send(new TerminateJobCommand({ jobId: j.id, reason }));
  return jobs.length;
}

export function formatChildren(children: Readonly<Partial<Record<JobState, number>>>): string {
  const parts = JOB_STATES.filter((s) => (children[s] ?? 0) > 0).map((s) => `${children[s]} ${s.toLowerCase()}`);
  return parts.length === 0 ? "no children known to Batch" : parts.join(", ");
}
