import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { openStorage, parseStorageUri } from "../../src/storage/open.ts";
import { S3Storage, createS3ClientFromEnv } from "../../src/storage/s3.ts";
import { startTestFauxqs } from "../helpers/fauxqs.ts";
import type { TestFauxqs } from "../helpers/fauxqs.ts";
import { inputError } from "../helpers/input-error.ts";


describe("parseStorageUri", () => {
  it("resolves local paths and file:// URIs to absolute paths", () => {
    expect(parseStorageUri("data/out")).toEqual({ kind: "local", path: resolve("data/out") });
    expect(parseStorageUri("/abs/dir/")).toEqual({ kind: "local", path: "/abs/dir" });
    expect(parseStorageUri("./x/../y")).toEqual({ kind: "local", path: resolve("y") });
    expect(parseStorageUri(pathToFileURL("/tmp/a b/c").href)).toEqual({ kind: "local", path: "/tmp/a b/c" });
    expect(parseStorageUri("file:///tmp/x/")).toEqual({ kind: "local", path: "/tmp/x" });
    // A colon in a folder name is not a scheme unless followed by "//".
    expect(parseStorageUri("run:v2")).toEqual({ kind: "local", path: resolve("run:v2") });
  });

  it("splits s3://bucket/prefix", () => {
    expect(parseStorageUri("s3://bkt")).toEqual({ kind: "s3", bucket: "bkt", prefix: "" });
    expect(parseStorageUri("s3://bkt/")).toEqual({ kind: "s3", bucket: "bkt", prefix: "" });
    expect(parseStorageUri("s3://my.bucket-1/runs/2024/")).toEqual({
      kind: "s3",
      bucket: "my.bucket-1",
      prefix: "runs/2024",
    });
    expect(parseStorageUri("S3://bkt/a")).toEqual({ kind: "s3", bucket: "bkt", prefix: "a" });
  });

  it("names the location and the problem for bad URIs", () => {
    expect(inputError(() => parseStorageUri("")).message).toMatch(/empty/);
    expect(inputError(() => parseStorageUri("s3://")).message).toBe(
      "s3://: S3 URI has no bucket name; expected s3://bucket/prefix",
    );
    expect(inputError(() => parseStorageUri("s3:///key")).message).toMatch(/^s3:\/\/\/key: .*no bucket/);
    expect(inputError(() => parseStorageUri("s3://a b/x")).message).toMatch(/^s3:\/\/a b\/x: "a b" is not a valid S3 bucket name/);
    expect(inputError(() => parseStorageUri("s3://bkt//x")).message).toMatch(/^s3:\/\/bkt\/\/x: .*"\/x"/);
    expect(inputError(() => parseStorageUri("s3://bkt/a/../b")).message).toMatch(/'\.\.' segment/);
    expect(inputError(() => parseStorageUri("gs://bkt/x")).message).toBe(
      'gs://bkt/x: unknown storage scheme "gs://" (use a local path, file:///path or s3://bucket/prefix)',
    );
    expect(inputError(() => parseStorageUri("https://example.org/x")).source).toBe("https://example.org/x");
    expect(inputError(() => parseStorageUri("file://remote-host/x")).message).toMatch(/^file:\/\/remote-host\/x: /);
  });
});

describe("openStorage", () => {
  it("opens local folders and S3 prefixes", () => {
    const local = openStorage("some/dir/");
    expect(local).toBeInstanceOf(LocalStorage);
    expect(local.uri).toBe(resolve("some/dir"));
    const client = createS3ClientFromEnv({});
    try {
      const s3 = openStorage("s3://bkt/a/b/", { s3Client: client });
      expect(s3).toBeInstanceOf(S3Storage);
      expect(s3.uri).toBe("s3://bkt/a/b");
      expect((s3 as S3Storage).client).toBe(client);
      expect((s3 as S3Storage).prefix).toBe("a/b");
    } finally {
      client.destroy();
    }
    expect(() => openStorage("s3://")).toThrow(InputError);
    expect(() => openStorage("ftp://x/y")).toThrow(InputError);
  });

  describe("with a client made from the environment", () => {
    let fx: TestFauxqs;
    let dir: string;
    const saved: Record<string, string | undefined> = {};
    beforeAll(async () => {
      fx = await startTestFauxqs({ buckets: ["env-bucket"] });
      dir = await mkdtemp(join(tmpdir(), "nbf-open-"));
      for (const [k, v] of Object.entries(fx.env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
    });
    afterAll(async () => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await fx.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it("reaches the endpoint in AWS_ENDPOINT_URL, path-style", async () => {
      const s = openStorage("s3://env-bucket/from-env");
      await s.put("k.txt", "via env");
      const check = openStorage("s3://env-bucket", { s3Client: fx.s3 });
      expect(new TextDecoder().decode(await check.get("from-env/k.txt"))).toBe("via env");
    });
  });

  it("configures region and path-style from the environment", async () => {
    const plain = createS3ClientFromEnv({});
    const regional = createS3ClientFromEnv({ AWS_REGION: "eu-west-2" });
    const s3Specific = createS3ClientFromEnv({
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      AWS_ENDPOINT_URL_S3: "http://127.0.0.1:2",
    });
    const ignored = createS3ClientFromEnv({
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
    });
    try {
      expect(await plain.config.region()).toBe("us-east-1");
      expect(plain.config.forcePathStyle).toBeFalsy();
      expect(await regional.config.region()).toBe("eu-west-2");
      expect(s3Specific.config.forcePathStyle).toBe(true);
      const endpoint = await s3Specific.config.endpoint?.();
      expect(endpoint?.port).toBe(2);
      expect(ignored.config.forcePathStyle).toBeFalsy();
    } finally {
      for (const c of [plain, regional, s3Specific, ignored]) c.destroy();
    }
  });
});
