/**
 * Real fauxqs (S3 + SQS + SNS emulator), in this process, on 127.0.0.1 and a free port,
 * with SDK clients already pointed at it. For any test suite that needs S3 or SQS:
 *
 *   const fx = await startTestFauxqs({ buckets: ["data"] });
 *   afterAll(() => fx.stop());
 *   const storage = new S3Storage(fx.s3, "data", "run-1");
 *   await fx.sqs.send(new CreateQueueCommand({ QueueName: "jobs" }));
 *
 * Child processes (CLI, workers) reach it through `fx.env` (AWS_ENDPOINT_URL etc.).
 *
 * Three things to know about fauxqs 2.4.1:
 * - A request body may be at most 11 MiB: a single PutObject or UploadPart larger than
 *   that is refused, so keep multipart part sizes in tests between 5 and 11 MiB.
 * - It ignores `If-None-Match: *` on PutObject / CompleteMultipartUpload (it overwrites).
 *   Real S3 refuses such a write with 412 when the key exists. Unless you pass
 *   `conditionalWrites: false`, a small hook added here makes fauxqs do the same, so code
 *   relying on S3 conditional writes is tested on its real code path.
 * - It names queues http://sqs.<region>.localhost:<port>/..., which clients configured
 *   only through AWS_ENDPOINT_URL cannot reach; queue URLs are rewritten to `endpoint`.
 *
 * We use fauxqs's buildApp rather than its startFauxqs because the latter always listens
 * on 0.0.0.0 and cannot take hooks; the price is that its programmatic helpers (spy,
 * inspectQueue, reset) are not available: use SDK calls instead.
 */
import { buildApp } from "fauxqs";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface StartTestFauxqsOptions {
  /** Buckets to create before returning. */
  buckets?: string[];
  /** Make fauxqs honour `If-None-Match: *` on object writes, like S3 (default true). */
  conditionalWrites?: boolean;
  /** Called with every request's method and path (e.g. to count the writes of a key). */
  onRequest?: (method: string, path: string) => void;
}

export interface TestFauxqs {
  /** "http://127.0.0.1:<port>" */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** Path-style S3 client for this server (destroyed by stop()). */
  readonly s3: S3Client;
  /** SQS client for this server; queue URLs come back as <endpoint>/000000000000/<name>. */
  readonly sqs: SQSClient;
  /** Environment for code that builds its own clients (createS3ClientFromEnv, child processes). */
  readonly env: Readonly<Record<string, string>>;
  /** Another S3 client for this server, e.g. to add middleware; the caller destroys it. */
  newS3Client(): S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const REGION = "us-east-1";
// fauxqs accepts any credentials; fixed fake ones keep the SDK from searching for real ones.
const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export async function startTestFauxqs(options: StartTestFauxqsOptions = {}): Promise<TestFauxqs> {
  const app = buildApp({ logger: false });
  if (options.conditionalWrites ?? true) honourIfNoneMatch(app);
  const onRequest = options.onRequest;
  if (onRequest !== undefined) {
    app.addHook("onRequest", async (request) => {
      onRequest(request.method, decodeURIComponent(request.url.split("?")[0]));
    });
  }
  let endpoint = "";
  loopbackQueueUrls(app, () => endpoint);
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  const port = Number(new URL(address).port);
  endpoint = `http://127.0.0.1:${port}`;

  const newS3Client = () =>
    new S3Client({ endpoint, region: REGION, credentials: CREDENTIALS, forcePathStyle: true });
  const s3 = newS3Client();
  const sqs = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS });

  const createBucket = async (name: string) => {
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  };
  for (const b of options.buckets ?? []) await createBucket(b);

  let stopped = false;
  return {
    endpoint,
    port,
    region: REGION,
    s3,
    sqs,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    },
    newS3Client,
    createBucket,
    async stop() {
      if (stopped) return;
      stopped = true;
      s3.destroy();
      sqs.destroy();
      await app.close();
    },
  };
}

type FauxqsApp = ReturnType<typeof buildApp>;

/**
 * fauxqs names queues http://sqs.<region>.localhost:<port>/..., and an SQS client whose
 * endpoint comes from AWS_ENDPOINT_URL (not from code) sends to the queue URL's host,
 * which glibc does not resolve. Rewriting those URLs to the loopback endpoint in SQS
 * responses makes both kinds of client work; fauxqs finds queues by name either way.
 */
function loopbackQueueUrls(app: FauxqsApp, endpoint: () => string): void {
  app.addHook("onSend", async (_request, _reply, payload) => {
    if (typeof payload !== "string" || !payload.includes(".localhost:")) return payload;
    return payload.replace(/http:\/\/sqs\.[a-z0-9-]+\.localhost:\d+/g, endpoint());
  });
}

/**
 * Conditional create for object writes: a PUT (PutObject) or POST ?uploadId
 * (CompleteMultipartUpload) carrying `If-None-Match: *` gets 412 PreconditionFailed when
 * the key exists. Such writes to one key are serialised until their response is sent,
 * so the existence check and the write are atomic with respect to each other, as on S3.
 */
function honourIfNoneMatch(app: FauxqsApp): void {
  const tails = new Map<string, Promise<void>>();
  app.addHook("preHandler", async (request, reply) => {
    if (request.headers["if-none-match"] !== "*") return;
    if (request.routeOptions.url !== "/:bucket/*") return;
    const params = request.params as Record<string, string | undefined>;
    if (!params["*"]) return;
    const query = (request.query ?? {}) as Record<string, unknown>;
    const isPut = request.method === "PUT" && query.partNumber === undefined && !("renameObject" in query);
    const isComplete = request.method === "POST" && query.uploadId !== undefined;
    if (!isPut && !isComplete) return;

    const path = request.url.split("?")[0];
    const previous = tails.get(path) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    tails.set(path, tail);
    reply.raw.once("close", () => {
      release();
      if (tails.get(path) === tail) tails.delete(path);
    });
    await previous;

    const head = await app.inject({ method: "HEAD", url: path });
    if (head.statusCode === 200) {
      reply
        .code(412)
        .header("content-type", "application/xml")
        .send(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>` +
            `<Message>At least one of the pre-conditions you specified did not hold</Message>` +
            `<Condition>If-None-Match</Condition></Error>`,
        );
      return reply;
    }
  });
}
