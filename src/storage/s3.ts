/**
 * Storage over an S3 prefix: key "a/b.parquet" under s3://bucket/prefix is the object
 * "prefix/a/b.parquet". Single PUTs and completed multipart uploads are atomic on S3
 * itself, so no temp objects are needed; downloads go through a local temp file.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NotFoundError } from "./types.ts";
import type { Storage } from "./types.ts";
import { writeStreamAtomic } from "./atomic-file.ts";
import { checkKey, checkPrefix, checkRange, normaliseChildPrefix, sortKeys } from "./keys.ts";

const MiB = 1024 * 1024;
/** S3's floor for every part but the last. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;

export interface S3StorageOptions {
  /** Files larger than this many bytes are uploaded in parts (default 64 MiB). */
  multipartThreshold?: number;
  /** Bytes per part of a multipart upload (default 16 MiB; raised to 5 MiB, S3's minimum). */
  partSize?: number;
  /** Parts in flight at once per upload (default 4; memory is about this times partSize). */
  uploadConcurrency?: number;
  /** Keys per ListObjectsV2 page, 1..1000 (default 1000, S3's own maximum). */
  listPageSize?: number;
}

/** State every child() of one root shares: whether the bucket was confirmed to exist. */
interface Shared {
  bucketExists?: Promise<boolean>;
}

/**
 * An S3 client configured from the environment: region from AWS_REGION (default
 * us-east-1); endpoint override from AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (the SDK
 * reads these two itself too; we read them here to know that an override is in force),
 * and then path-style addressing, which S3 emulators and MinIO need. Credentials come
 * from the SDK's default chain and are never logged.
 */
export function createS3ClientFromEnv(env: NodeJS.ProcessEnv = process.env): S3Client {
  const region = env.AWS_REGION || "us-east-1";
  const ignoreOverride = /^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "");
  const endpoint = ignoreOverride ? undefined : env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  return new S3Client({
    region,
    // A bucket in another region than AWS_REGION still works (one redirect per client).
    followRegionRedirects: true,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
  });
}

export class S3Storage implements Storage {
  readonly uri: string;
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of this root inside the bucket, without a trailing '/' ("" for the bucket root). */
  readonly prefix: string;
  readonly #options: S3StorageOptions;
  readonly #shared: Shared;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #uploadConcurrency: number;
  readonly #listPageSize: number;

  constructor(client: S3Client, bucket: string, prefix = "", options: S3StorageOptions = {}, shared: Shared = {}) {
    this.client = client;
    this.bucket = bucket;
    this.prefix = normaliseChildPrefix(prefix, `s3://${bucket}`);
    this.uri = this.prefix === "" ? `s3://${bucket}` : `s3://${bucket}/${this.prefix}`;
    this.#options = options;
    this.#shared = shared;
    this.#multipartThreshold = positive(options.multipartThreshold, 64 * MiB, "multipartThreshold");
    this.#partSize = Math.max(MIN_PART_SIZE, positive(options.partSize, 16 * MiB, "partSize"));
    this.#uploadConcurrency = positive(options.uploadConcurrency, 4, "uploadConcurrency");
    this.#listPageSize = Math.min(1000, positive(options.listPageSize, 1000, "listPageSize"));
  }

  /** The object key (inside the bucket) a storage key maps to, after checking the key. */
  objectKey(key: string): string {
    checkKey(key, this.uri);
    return this.prefix === "" ? key : `${this.prefix}/${key}`;
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (out.Body === undefined) return new Uint8Array(0);
      return await out.Body.transformToByteArray();
    } catch (err) {
      throw this.#fail(err, "GetObject", Key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(offset, length, this.uri, key);
    const Key = this.objectKey(key);
    if (length === 0) {
      // An HTTP range cannot be empty; still report absence like any other read.
      if ((await this.size(key)) === undefined) throw new NotFoundError(this.#uriOf(Key));
      return new Uint8Array(0);
    }
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key, Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      if (out.Body === undefined) return new Uint8Array(0);
      const bytes = await out.Body.transformToByteArray();
      // A server that ignores Range answers 200 with the whole object: cut it here.
      return out.ContentRange === undefined && bytes.byteLength > length
        ? bytes.subarray(offset, offset + length)
        : bytes;
    } catch (err) {
      // 416: the object exists but starts before `offset`; the range is simply empty.
      if (errorInfo(err).name === "InvalidRange") return new Uint8Array(0);
      throw this.#fail(err, "GetObject", Key);
    }
  }

  async size(key: string): Promise<number | undefined> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return out.ContentLength ?? 0;
    } catch (err) {
      const { name, status } = errorInfo(err);
      if (name === "NoSuchBucket") throw this.#fail(err, "HeadObject", Key);
      if (status === 404 || name === "NotFound" || name === "NoSuchKey") {
        // A HEAD carries no error body, so a 404 cannot tell a missing key from a missing
        // bucket: ask about the bucket once per root, so a typo fails loudly, not as "absent".
        if (!(await this.#bucketExists())) throw this.#noBucket("HeadObject", Key, err);
        return undefined;
      }
      throw this.#fail(err, "HeadObject", Key);
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: toBytes(data) }));
    } catch (err) {
      throw this.#fail(err, "PutObject", Key);
    }
  }

  /**
   * One conditional PUT with `If-None-Match: *`: S3 (since 2024-08), MinIO, R2 and Ceph
   * refuse it with 412 when the key exists, atomically, across any number of writers.
   *
   * fauxqs 2.4.1 (our test emulator) ignores If-None-Match on PutObject and overwrites.
   * The HEAD first is the best a backend like that allows (it narrows the race to the gap
   * between HEAD and PUT but cannot close it), and it saves uploading the body when the
   * key is already there. Our tests close the gap inside fauxqs instead (see
   * test/helpers/fauxqs.ts), so the 412 path below is what they exercise.
   */
  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    const Key = this.objectKey(key);
    if ((await this.size(key)) !== undefined) return false;
    const Body = toBytes(data);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body, IfNoneMatch: "*" }));
        return true;
      } catch (err) {
        const { name, status } = errorInfo(err);
        if (status === 412 || name === "PreconditionFailed") return false;
        // 409: another conditional write to this key is in flight; S3 asks us to retry.
        if ((status === 409 || name === "ConditionalRequestConflict") && attempt < 5) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          continue;
        }
        throw this.#fail(err, "PutObject", Key);
      }
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const Key = this.objectKey(key);
    const { size } = await stat(localPath);
    try {
      if (size <= this.#multipartThreshold) {
        // A buffer, not a stream: the SDK can retry a buffer after a network error.
        const Body = await readFile(localPath);
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body }));
        return;
      }
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: createReadStream(localPath) },
        partSize: Math.max(this.#partSize, Math.ceil(size / MAX_PARTS)),
        queueSize: this.#uploadConcurrency,
        // On failure abort the upload: the object never appears and no parts linger.
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw this.#fail(err, size <= this.#multipartThreshold ? "PutObject" : "multipart upload", Key);
    }
  }

  async getFile(key: string, localPath: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      // Under Node the body is an IncomingMessage: an async iterable of Buffers.
      const body = (out.Body ?? []) as AsyncIterable<Uint8Array>;
      await writeStreamAtomic(localPath, body);
    } catch (err) {
      if (isS3Error(err)) throw this.#fail(err, "GetObject", Key);
      // The connection broke midway, or the local write failed: writeStreamAtomic has
      // already removed its temp file and left any old file at localPath as it was.
      throw new Error(`${this.#uriOf(Key)}: download to ${localPath} failed: ${errorInfo(err).message}`, { cause: err });
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix, this.uri);
    const Prefix = this.prefix === "" ? prefix : `${this.prefix}/${prefix}`;
    const strip = this.prefix === "" ? 0 : this.prefix.length + 1;
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken, MaxKeys: this.#listPageSize }),
        );
      } catch (err) {
        throw this.#fail(err, "ListObjectsV2", Prefix);
      }
      for (const o of out.Contents ?? []) {
        // "folder/" marker objects (made by consoles) are not keys.
        if (o.Key === undefined || o.Key.endsWith("/")) continue;
        keys.push(o.Key.slice(strip));
      }
      ContinuationToken = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (ContinuationToken !== undefined);
    return sortKeys(keys);
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (errorInfo(err).name === "NoSuchKey") return;
      throw this.#fail(err, "DeleteObject", Key);
    }
  }

  child(prefix: string): Storage {
    const sub = normaliseChildPrefix(prefix, this.uri, "child prefix");
    if (sub === "") return this;
    const joined = this.prefix === "" ? sub : `${this.prefix}/${sub}`;
    return new S3Storage(this.client, this.bucket, joined, this.#options, this.#shared);
  }

  #uriOf(objectKey: string): string {
    return `s3://${this.bucket}/${objectKey}`;
  }

  #bucketExists(): Promise<boolean> {
    this.#shared.bucketExists ??= this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).then(
      () => true,
      // Only a 404 proves absence; a 403 (no s3:ListBucket) says nothing, so assume it exists.
      (err: unknown) => {
        const { name, status } = errorInfo(err);
        return !(status === 404 || name === "NotFound" || name === "NoSuchBucket");
      },
    );
    return this.#shared.bucketExists;
  }

  #noBucket(op: string, objectKey: string, cause: unknown): Error {
    return new Error(`${this.#uriOf(objectKey)}: S3 bucket "${this.bucket}" does not exist (${op})`, { cause });
  }

  /** A clear Error naming the URI; only the SDK's error name and message, never request details. */
  #fail(err: unknown, op: string, objectKey: string): Error {
    const uri = this.#uriOf(objectKey);
    const { name, status, message } = errorInfo(err);
    if (name === "NoSuchKey") return new NotFoundError(uri);
    if (name === "NoSuchBucket") return this.#noBucket(op, objectKey, err);
    if (name === "AccessDenied" || name === "Forbidden" || status === 403) {
      return new Error(
        `${uri}: access denied (S3 ${op}); check that the credentials in use may access this bucket and prefix` +
          " (without s3:ListBucket, S3 also answers 403 for a missing key)",
        { cause: err },
      );
    }
    if (CREDENTIAL_ERRORS.has(name ?? "")) {
      return new Error(`${uri}: AWS credentials were rejected or not found (S3 ${op}: ${name})`, { cause: err });
    }
    return new Error(`${uri}: S3 ${op} failed: ${name ?? "Error"}: ${message}`, { cause: err });
  }
}

const CREDENTIAL_ERRORS = new Set([
  "CredentialsProviderError",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "TokenRefreshRequired",
  "InvalidToken",
]);

function errorInfo(err: unknown): { name: string | undefined; status: number | undefined; message: string } {
  if (typeof err !== "object" || err === null) return { name: undefined, status: undefined, message: String(err) };
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return {
    name: typeof e.name === "string" ? e.name : undefined,
    status: typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined,
    message: typeof e.message === "string" ? e.message : String(err),
  };
}

/** Errors from the SDK (or its credential chain), as opposed to local filesystem errors. */
function isS3Error(err: unknown): boolean {
  return typeof err === "object" && err !== null && ("$metadata" in err || "$fault" in err ||
    CREDENTIAL_ERRORS.has(errorInfo(err).name ?? ""));
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}

function positive(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`S3 storage option ${what} must be a positive integer, got ${value}`);
  return value;
}
