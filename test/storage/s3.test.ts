import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Storage } from "../../src/storage/s3.ts";
import { NotFoundError } from "../../src/storage/types.ts";
import { startTestFauxqs } from "../helpers/fauxqs.ts";
import type { TestFauxqs } from "../helpers/fauxqs.ts";
import { inBatches, storageContract } from "./contract.ts";

const MiB = 1024 * 1024;
const BUCKET = "storage-tests";
let fx: TestFauxqs;
let counter = 0;

beforeAll(async () => {
  fx = await startTestFauxqs({ buckets: [BUCKET] });
});
afterAll(async () => {
  await fx.stop();
});

// Each test gets its own prefix; the small threshold sends the 11 MiB file up in parts.
const smallParts = { multipartThreshold: 5 * MiB, partSize: 5 * MiB };
storageContract("S3 on fauxqs", {
  fresh: async () => new S3Storage(fx.s3, BUCKET, `t${counter++}`, smallParts),
  manyKeys: 1005,
});

describe("S3Storage specifics", () => {
  it("uses multipart above the threshold and one PUT below it", async () => {
    const s = new S3Storage(fx.s3, BUCKET, "multipart", smallParts);
    const dir = await mkdtemp(join(tmpdir(), "nbf-s3mp-"));
    try {
      await writeFile(join(dir, "big"), new Uint8Array(11 * MiB).fill(1));
      await writeFile(join(dir, "small"), new Uint8Array(5 * MiB).fill(2));
      await s.putFile("big", join(dir, "big"));
      await s.putFile("small", join(dir, "small"));
      const etag = async (key: string) =>
        (await fx.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `multipart/${key}` }))).ETag ?? "";
      // A multipart ETag ends in "-<part count>": 11 MiB in 5 MiB parts is 3 parts.
      expect(await etag("big")).toMatch(/-3"?$/);
      expect(await etag("small")).not.toMatch(/-\d+"?$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("pages through ListObjectsV2 with continuation tokens", async () => {
    const s = new S3Storage(fx.s3, BUCKET, "paging", { listPageSize: 7 });
    const keys = Array.from({ length: 30 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
    await inBatches(keys, 8, (k) => s.put(k, k));
    let pages = 0;
    const counting = fx.newS3Client();
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "ListObjectsV2Command") pages++;
        return next(args);
      },
      { step: "initialize" },
    );
    try {
      const viaCounting = new S3Storage(counting, BUCKET, "paging", { listPageSize: 7 });
      expect(await viaCounting.list("p/")).toEqual(keys);
      expect(pages).toBe(5);
    } finally {
      counting.destroy();
    }
  });

  it("keeps roots in one bucket apart, and works at the bucket root", async () => {
    const a = new S3Storage(fx.s3, BUCKET, "iso/a");
    const ab = new S3Storage(fx.s3, BUCKET, "iso/ab");
    await a.put("k", "a");
    await ab.put("k", "ab");
    expect(await a.list("")).toEqual(["k"]);
    expect(new TextDecoder().decode(await ab.get("k"))).toBe("ab");
    const rootStorage = new S3Storage(fx.s3, BUCKET);
    expect(rootStorage.uri).toBe(`s3://${BUCKET}`);
    expect(await rootStorage.list("iso/")).toEqual(["iso/a/k", "iso/ab/k"]);
    expect(rootStorage.child("iso/a").uri).toBe(`s3://${BUCKET}/iso/a`);
  });

  it("putIfAbsent returns false when another writer gets in between its check and its PUT", async () => {
    const racing = fx.newS3Client();
    // After our HEAD saw nothing, another writer creates the key before our conditional PUT.
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        try {
          return await next(args);
        } finally {
          if (context.commandName === "HeadObjectCommand") {
            await fx.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "race/k", Body: "the other writer" }));
          }
        }
      },
      { step: "initialize" },
    );
    try {
      const s = new S3Storage(racing, BUCKET, "race");
      expect(await s.putIfAbsent("k", "mine")).toBe(false);
      expect(new TextDecoder().decode(await s.get("k"))).toBe("the other writer");
    } finally {
      racing.destroy();
    }
  });

  it("names the URI and the missing bucket in errors", async () => {
    const s = new S3Storage(fx.s3, "no-such-bucket", "pre");
    const message = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as Error).message;
    const expected = /^s3:\/\/no-such-bucket\/pre\/some\/key: S3 bucket "no-such-bucket" does not exist/;
    expect(await message(s.get("some/key"))).toMatch(expected);
    expect(await message(s.size("some/key"))).toMatch(expected);
    expect(await message(s.put("some/key", "x"))).toMatch(expected);
    expect(await message(s.getRange("some/key", 0, 3))).toMatch(expected);
    expect(await message(s.list("x/"))).toMatch(/^s3:\/\/no-such-bucket\/pre\/x\/: S3 bucket "no-such-bucket" does not exist/);
    const err = await s.get("some/key").catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(NotFoundError);
  });

  it("rejects bad tuning options", () => {
    expect(() => new S3Storage(fx.s3, BUCKET, "", { partSize: 0 })).toThrow(RangeError);
    expect(() => new S3Storage(fx.s3, BUCKET, "", { listPageSize: 1.5 })).toThrow(/listPageSize/);
  });
});
