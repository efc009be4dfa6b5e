/**
 * The one entry point from a user-supplied location to a Storage: a local path
 * (relative or absolute), a file:// URI, or s3://bucket/prefix.
 */
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { InputError } from "../nblast/errors.ts";
import type { Storage } from "./types.ts";
import { LocalStorage } from "./local.ts";
import { S3Storage, createS3ClientFromEnv } from "./s3.ts";
import type { S3StorageOptions } from "./s3.ts";
import { normaliseChildPrefix } from "./keys.ts";

export type StorageLocation =
  | { readonly kind: "local"; readonly path: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

export interface OpenStorageOptions extends S3StorageOptions {
  /** Client for s3:// locations; by default one is made from the environment (see createS3ClientFromEnv). */
  s3Client?: S3Client;
}

/**
 * Parses a storage location. Local paths come back absolute (resolved against the cwd);
 * an s3 prefix comes back without leading or trailing '/'. Throws InputError naming
 * the location when it is empty, has an unknown scheme, or an s3:// URI lacks a bucket.
 */
export function parseStorageUri(uri: string): StorageLocation {
  if (typeof uri !== "string" || uri.trim() === "") throw new InputError("storage location is empty");
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1];
  // One letter before ':' is a Windows drive ("C:\data"), not a scheme.
  if (scheme === undefined || scheme.length === 1) return { kind: "local", path: resolve(uri) };
  const lower = scheme.toLowerCase();
  if (lower === "s3") return parseS3(uri);
  if (lower === "file") {
    try {
      return { kind: "local", path: resolve(fileURLToPath(uri)) };
    } catch (err) {
      throw new InputError(`not a usable file:// URI (${(err as Error).message})`, { source: uri });
    }
  }
  if (!uri.startsWith(`${scheme}://`)) {
    // "data:v2" is a legal folder name on POSIX; only "x://" is surely meant as a URI.
    return { kind: "local", path: resolve(uri) };
  }
  throw new InputError(
    `unknown storage scheme "${scheme}://" (use a local path, file:///path or s3://bucket/prefix)`,
    { source: uri },
  );
}

function parseS3(uri: string): StorageLocation {
  const m = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(uri);
  if (m === null) throw new InputError(`malformed S3 URI; expected s3://bucket/prefix`, { source: uri });
  const bucket = m[1];
  if (bucket === "") throw new InputError(`S3 URI has no bucket name; expected s3://bucket/prefix`, { source: uri });
  // Today's naming rules are lower-case only; old us-east-1 buckets may hold capitals and '_'.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(bucket)) {
    throw new InputError(`"${bucket}" is not a valid S3 bucket name`, { source: uri });
  }
  const prefix = normaliseChildPrefix(m[2], uri, "S3 prefix");
  return { kind: "s3", bucket, prefix };
}

/** Opens the Storage a location names. Nothing is touched until the first call on it. */
export function openStorage(uri: string, opts: OpenStorageOptions = {}): Storage {
  const loc = parseStorageUri(uri);
  if (loc.kind === "local") return new LocalStorage(loc.path);
  const { s3Client, ...s3Options } = opts;
  return new S3Storage(s3Client ?? defaultS3Client(), loc.bucket, loc.prefix, s3Options);
}

let cachedClient: { signature: string; client: S3Client } | undefined;

/** One client (one connection pool) per process, rebuilt only if the relevant environment changed. */
function defaultS3Client(): S3Client {
  const env = process.env;
  const signature = [env.AWS_REGION, env.AWS_ENDPOINT_URL_S3, env.AWS_ENDPOINT_URL, env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS].join("\n");
  if (cachedClient === undefined || cachedClient.signature !== signature) {
    cachedClient = { signature, client: createS3ClientFromEnv(env) };
  }
  return cachedClient.client;
}
