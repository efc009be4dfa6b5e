/**
 * The Lambda functions' code (handlers/start.ts and handlers/status.ts only re-export it):
 *
 * - startHandler: S3 tells it that a `manifest.json` was created under `runs/`; it queues
 *   the run's bins and submits the array job, the same code as `submit aws`. A run the CLI
 *   submitted is already claimed (aws/submission.json) and is left alone. The array's size
 *   is the run's `aws/request.json` `{"workers": N}` when the uploader left one there,
 *   else DEFAULT_WORKERS (100).
 * - statusHandler: `{ run }` (invoked directly) or `{ queryStringParameters: { run } }`
 *   (a function URL or API Gateway): the run's status as `status --run RUN --json` prints
 *   it, but for `aws.deadLetteredBins` (null: the function reads queue attributes only).
 *   RUN is s3://BUCKET/runs/NAME or just NAME.
 *
 * Environment (set by the stack): BUCKET, QUEUE_URL, DLQ_URL, JOB_QUEUE, JOB_DEFINITION,
 * DEFAULT_WORKERS, VCPU_HOUR_PRICE; AWS_REGION and the credentials are Lambda's own.
 */
import * as z from "zod";
import { InputError } from "../../nblast/errors.ts";
import { openStorage } from "../../storage/open.ts";
import { NotFoundError, type Storage } from "../../storage/types.ts";
import { binStatus } from "../../worker/markers.ts";
import { createAwsClients, type AwsClients } from "./clients.ts";
import { checkWorkers } from "./jobs.ts";
import { stackFromEnv } from "./outputs.ts";
import { awsStatus } from "./status.ts";
import { DEFAULT_WORKERS, startUploadedRun } from "./submit.ts";
import type { StackConfig } from "./submission.ts";

/** The part of an S3 event notification this reads (aws-lambda's S3Event has more). */
export interface S3Event {
  readonly Records: readonly {
    readonly eventName?: string;
    readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string } };
  }[];
}

const s3EventSchema = z.object({
  Records: z.array(z.object({ eventName: z.string().optional(), s3: z.object({ bucket: z.object({ name: z.string() }), object: z.object({ key: z.string() }) }) })),
});

const requestSchema = z.strictObject({ workers: z.int().positive().optional() });
export const REQUEST_KEY = "aws/request.json";

export interface StartResult {
  readonly started: { run: string; bins: number; jobId: string | undefined; workers: number | undefined }[];
  /** Runs already claimed (submitted by the CLI, or an event delivered twice). */
  readonly skipped: string[];
  /** Events that were not a run's manifest, or runs that could not start, with why. */
  readonly ignored: { key: string; reason: string }[];
}

export interface LambdaDeps {
  readonly env?: NodeJS.ProcessEnv;
  readonly clients?: AwsClients;
  readonly log?: (line: string) => void;
}

function lambdaStack(env: NodeJS.ProcessEnv): StackConfig {
  const stack = stackFromEnv(env);
  if (stack === undefined) throw new Error("the function's environment names no stack (BUCKET, QUEUE_URL, DLQ_URL, JOB_QUEUE, JOB_DEFINITION)");
  return stack;
}

/** An S3 event's object key: URL-encoded, with '+' for a space. */
function eventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, " "));
}

async function requestedWorkers(run: Storage, fallback: number): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = await run.get(REQUEST_KEY);
  } catch (err) {
    if (err instanceof NotFoundError) return fallback;
    throw err;
  }
  const parsed = requestSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  if (!parsed.success) throw new InputError(`expected {"workers": N}`, { source: `${run.uri}/${REQUEST_KEY}` });
  return parsed.data.workers ?? fallback;
}

export async function startHandler(event: S3Event, deps: LambdaDeps = {}): Promise<StartResult> {
  const env = deps.env ?? process.env;
  const log = deps.log ?? ((line: string) => console.log(line));
  const parsed = s3EventSchema.safeParse(event);
  if (!parsed.success) throw new Error(`not an S3 event notification: ${parsed.error.issues[0].message}`);
  const stack = lambdaStack(env);
  const fallback = checkWorkers(Number(env.DEFAULT_WORKERS || DEFAULT_WORKERS));
  const clients = deps.clients ?? createAwsClients(env.AWS_REGION);
  const result: StartResult = { started: [], skipped: [], ignored: [] };
  try {
    for (const r of parsed.data.Records) {
      const key = eventKey(r.s3.object.key);
      const m = /^runs\/([^/]+)\/manifest\.json$/.exec(key);
      if (m === null || r.s3.bucket.name !== stack.bucket || (r.eventName !== undefined && !r.eventName.startsWith("ObjectCreated"))) {
        result.ignored.push({ key: `s3://${r.s3.bucket.name}/${key}`, reason: "not a run's manifest.json created in the stack's bucket" });
        continue;
      }
      const runUri = `s3://${stack.bucket}/runs/${m[1]}`;
      try {
        const workers = await requestedWorkers(openStorage(runUri), fallback);
        const started = await startUploadedRun(runUri, stack, clients, workers);
        if (started === undefined) {
          result.skipped.push(runUri);
          log(`${runUri}: already submitted; left alone`);
          continue;
        }
        result.started.push({ run: runUri, bins: started.enqueued, jobId: started.job?.id, workers: started.job?.size });
        log(`${runUri}: ${started.enqueued} bins queued; job ${started.job?.id ?? "(none: every bin done)"}`);
      } catch (err) {
        // A bad run is reported and the others still start; a retry of the event would find it claimed.
        const reason = (err as Error).message;
        result.ignored.push({ key: `s3://${stack.bucket}/${key}`, reason });
        log(`${runUri}: not started: ${reason}`);
      }
    }
  } finally {
    if (deps.clients === undefined) {
      clients.sqs.destroy();
      clients.batch.destroy();
    }
  }
  return result;
}

export type StatusEvent = { readonly run: string } | { readonly queryStringParameters: { readonly run: string } };

interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A run's status as JSON (`status --json`); an HTTP response when called through a URL. */
export async function statusHandler(event: StatusEvent, deps: LambdaDeps = {}): Promise<unknown> {
  const env = deps.env ?? process.env;
  const http = typeof event === "object" && event !== null && "queryStringParameters" in event;
  const respond = (statusCode: number, body: unknown): unknown =>
    http ? ({ statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) } satisfies HttpResponse) : body;
  const spec = http ? (event as { queryStringParameters?: { run?: unknown } }).queryStringParameters?.run : (event as { run?: unknown }).run;
  if (typeof spec !== "string" || spec === "") {
    if (http) return respond(400, { error: "give the run as ?run=NAME or ?run=s3://BUCKET/runs/NAME" });
    throw new InputError(`the event names no run: expected { "run": "NAME" }`);
  }
  const bucket = env.BUCKET;
  const runUri = spec.startsWith("s3://") ? spec : bucket ? `s3://${bucket}/runs/${spec}` : spec;
  if (bucket !== undefined && !runUri.startsWith(`s3://${bucket}/runs/`)) {
    return http ? respond(400, { error: `only runs of s3://${bucket}/runs/ are served` }) : Promise.reject(new InputError(`${runUri} is not a run of this stack`));
  }
  const run = openStorage(runUri);
  try {
    const bins = await binStatus(run);
    const price = Number(env.VCPU_HOUR_PRICE);
    // Queue attributes only: looking into the dead-letter queue would need receive rights
    // the status function is not granted (deadLetteredBins is null; the failed bins say why).
    const aws = await awsStatus(run, bins, {
      vcpuHourPrice: Number.isFinite(price) && price > 0 ? price : undefined,
      clients: deps.clients,
      peekDeadLetters: false,
    });
    return respond(200, { run: runUri, bins: bins.bins, counts: bins.counts, failed: bins.failed, pending: bins.pending, totals: bins.totals, aws });
  } catch (err) {
    if (http && err instanceof InputError) return respond(404, { error: err.message });
    throw err;
  }
}
