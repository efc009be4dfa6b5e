import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestFauxqs } from "../helpers/fauxqs.ts";
import type { TestFauxqs } from "../helpers/fauxqs.ts";

const BUCKET = "helper-bucket";
let fx: TestFauxqs;
beforeAll(async () => {
  fx = await startTestFauxqs({ buckets: [BUCKET] });
});
afterAll(async () => {
  await fx.stop();
});

describe("test/helpers/fauxqs", () => {
  it("listens on loopback and hands out working S3 and SQS clients", async () => {
    expect(fx.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(fx.port).toBeGreaterThan(0);
    await fx.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "a/b", Body: "hi" }));
    const got = await fx.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/b" }));
    expect(await got.Body?.transformToString()).toBe("hi");

    const { QueueUrl } = await fx.sqs.send(new CreateQueueCommand({ QueueName: "jobs" }));
    expect(QueueUrl).toBe(`${fx.endpoint}/000000000000/jobs`);
    await fx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "task 1" }));
    const { Messages } = await fx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(Messages?.map((m) => m.Body)).toEqual(["task 1"]);
  });

  it("gives queue URLs that SQS clients configured only by the environment can reach", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, fx.env);
    // Endpoint from AWS_ENDPOINT_URL only: the SDK then sends to the queue URL's host.
    const fromEnv = new SQSClient({});
    try {
      const { QueueUrl } = await fromEnv.send(new CreateQueueCommand({ QueueName: "env-jobs" }));
      expect(QueueUrl).toBe(`${fx.endpoint}/000000000000/env-jobs`);
      await fromEnv.send(new SendMessageCommand({ QueueUrl, MessageBody: "task 2" }));
      const { Messages } = await fromEnv.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      expect(Messages?.map((m) => m.Body)).toEqual(["task 2"]);
    } finally {
      fromEnv.destroy();
      for (const k of Object.keys(fx.env)) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it("answers If-None-Match: * on an existing key with 412, like S3", async () => {
    await fx.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/k", Body: "first" }));
    const err = await fx.s3
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/k", Body: "second", IfNoneMatch: "*" }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } });
    await fx.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/new", Body: "ok", IfNoneMatch: "*" }));
    const read = async (Key: string) =>
      (await fx.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body?.transformToString();
    expect(await read("cond/k")).toBe("first");
    expect(await read("cond/new")).toBe("ok");
  });

  it("lets concurrent conditional writers to one key through one at a time", async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) =>
        fx.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cond/race", Body: `w${i}`, IfNoneMatch: "*" })),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ name: "PreconditionFailed" });
  });
});
