/** The AWS backend's small parts: stack outputs, messages, bin ranges, a manifest re-sealed for a moved cache. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { regionOfQueueUrl } from "../../../src/backends/aws/clients.ts";
import { checkWorkers, jobName } from "../../../src/backends/aws/jobs.ts";
import { binMessageBody, parseBinMessage } from "../../../src/backends/aws/message.ts";
import { readStackOutputs, resolveStack, stackFromEnv } from "../../../src/backends/aws/outputs.ts";
import { checkRunName, runNameIn } from "../../../src/backends/aws/submit.ts";
import { formatRanges, parseRanges } from "../../../src/backends/aws/submission.ts";
import { workersCanRead } from "../../../src/backends/aws/upload.ts";
import { InputError } from "../../../src/nblast/errors.ts";
import { parseManifest, serializeManifest, withCacheUri } from "../../../src/plan/manifest.ts";
import { LocalStorage } from "../../../src/storage/local.ts";
import { buildTestCache, makeManifest } from "../../worker/helpers.ts";
import { tempDir } from "./helpers.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  work = await tempDir("units");
});
afterAll(() => work?.cleanup());

const OUTPUTS = {
  BucketName: "b",
  QueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/bins",
  DeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/bins-dlq",
  JobQueueArn: "arn:aws:batch:eu-west-1:123456789012:job-queue/q",
  JobDefinitionArn: "arn:aws:batch:eu-west-1:123456789012:job-definition/d:1",
  StartFunctionName: "start",
  StatusFunctionName: "status",
  Region: "eu-west-1",
};

async function rejection(p: Promise<unknown>): Promise<InputError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error("expected an InputError");
}

describe("stack outputs", () => {
  it("reads `cdk deploy --outputs-file`, picks the nblast-fanout stack, and names what is missing", async () => {
    const file = join(work.path, "outputs.json");
    await writeFile(file, JSON.stringify({ OtherStack: { Foo: "x" }, NblastFanoutStack: OUTPUTS }));
    expect(await readStackOutputs(file)).toEqual({
      region: "eu-west-1",
      bucket: "b",
      queueUrl: OUTPUTS.QueueUrl,
      deadLetterQueueUrl: OUTPUTS.DeadLetterQueueUrl,
      jobQueue: OUTPUTS.JobQueueArn,
      jobDefinition: OUTPUTS.JobDefinitionArn,
    });
    await writeFile(file, JSON.stringify({ NblastFanoutStack: { ...OUTPUTS, JobQueueArn: undefined, BucketName: 3 } }));
    expect((await rejection(readStackOutputs(file))).message).toBe(`${file}: stack NblastFanoutStack lacks the outputs BucketName, JobQueueArn (is it an nblast-fanout stack?)`);
    await writeFile(file, "{ not json");
    expect((await rejection(readStackOutputs(file))).message).toMatch(new RegExp(`^${file}: not valid JSON`));
    expect((await rejection(readStackOutputs(join(work.path, "absent.json")))).message).toContain("cannot read the stack outputs (ENOENT)");
    expect((await rejection(resolveStack({}, {}))).message).toContain("pass --stack-outputs FILE");
  });

  it("takes the stack from the environment (the Lambdas' names or NBLAST_FANOUT_*), refusing half of it", () => {
    const env = { BUCKET: "b", QUEUE_URL: "q", DLQ_URL: "d", JOB_QUEUE: "jq", JOB_DEFINITION: "jd", AWS_REGION: "eu-west-1" };
    expect(stackFromEnv(env)).toEqual({ region: "eu-west-1", bucket: "b", queueUrl: "q", deadLetterQueueUrl: "d", jobQueue: "jq", jobDefinition: "jd" });
    expect(stackFromEnv({})).toBeUndefined();
    expect(() => stackFromEnv({ NBLAST_FANOUT_BUCKET: "b" })).toThrow(/set NBLAST_FANOUT_QUEUE_URL, NBLAST_FANOUT_DLQ_URL, NBLAST_FANOUT_JOB_QUEUE, NBLAST_FANOUT_JOB_DEFINITION too/);
  });
});

describe("messages, ranges, names", () => {
  it("a bin message reads back; anything else says why it is not one", () => {
    expect(parseBinMessage(binMessageBody("s3://b/runs/r", 7))).toEqual({ ok: true, message: { v: 1, run: "s3://b/runs/r", bin: 7 } });
    expect(binMessageBody("s3://b/runs/r", 7)).toBe('{"v":1,"run":"s3://b/runs/r","bin":7}');
    expect(parseBinMessage("nope")).toEqual({ ok: false, reason: "body is not JSON" });
    expect(parseBinMessage('{"v":1,"run":"x","bin":-1}')).toMatchObject({ ok: false, reason: expect.stringMatching(/^body field bin:/) });
    expect(parseBinMessage('{"v":2,"run":"x","bin":1}')).toMatchObject({ ok: false });
  });

  it("bin ranges round-trip", () => {
    expect(formatRanges([9, 0, 1, 2, 3, 7, 10, 3])).toBe("0-3,7,9-10");
    expect(parseRanges("0-3,7,9-10")).toEqual([0, 1, 2, 3, 7, 9, 10]);
    expect(parseRanges("")).toEqual([]);
    expect(() => parseRanges("1-x")).toThrow(InputError);
  });

  it("run names, job names, worker counts, where workers may read, queue regions", () => {
    expect(runNameIn("s3://bk/runs/r1", "bk")).toBe("r1");
    expect(() => runNameIn("s3://other/runs/r1", "bk")).toThrow(/is not a run of this stack: its workers read and write only s3:\/\/bk\/runs\/NAME/);
    expect(() => runNameIn("s3://bk/elsewhere/r1", "bk")).toThrow(InputError);
    expect(() => checkRunName("a b")).toThrow(/cannot name a run in the bucket/);
    expect(jobName("my.run")).toBe("nblast-fanout-my-run");
    expect(checkWorkers(10_000)).toBe(10_000);
    expect(() => checkWorkers(10_001)).toThrow(/between 1 and 10000/);
    expect(workersCanRead("s3://b/caches/c", "b")).toBe(true);
    expect(workersCanRead("s3://b/runs/r/cache", "b")).toBe(true);
    expect(workersCanRead("s3://other/caches/c", "b")).toBe(false);
    expect(workersCanRead("/data/cache", "b")).toBe(false);
    expect(regionOfQueueUrl(OUTPUTS.QueueUrl)).toBe("eu-west-1");
    expect(regionOfQueueUrl("http://127.0.0.1:5100/123/q")).toBeUndefined();
  });
});

describe("withCacheUri", () => {
  it("re-seals the same plan for a moved cache: a digest that verifies, nothing else changed", async () => {
    const cache = await buildTestCache(new LocalStorage(join(work.path, "cache")), 4);
    const m = makeManifest(cache, { bins: 2, normalization: "mean" });
    const moved = withCacheUri(m, "s3://b/caches/c");
    expect(moved.digest).not.toBe(m.digest);
    expect(parseManifest(serializeManifest(moved), "moved")).toEqual(moved);
    expect({ ...moved, digest: m.digest, cache: { ...moved.cache, uri: m.cache.uri } }).toEqual(m);
  });
});
