/**
 * One small interface over local folders and S3 prefixes, so cache, plan, worker and
 * results never care where their bytes live. A Storage is rooted at a URI (a local
 * path or s3://bucket/prefix); keys are relative, '/'-separated ("shards/bin=3.parquet").
 */
export interface Storage {
  /** The root URI as given, normalised (no trailing slash). */
  readonly uri: string;
  /** Whole object. Throws NotFoundError when absent. */
  get(key: string): Promise<Uint8Array>;
  /** `length` bytes from `offset` (local pread, S3 ranged GET). Throws NotFoundError. */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Size in bytes, or undefined when absent. */
  size(key: string): Promise<number | undefined>;
  /** Atomic write: readers see the old object, or none, or the whole new one (temp + rename; one PUT). */
  put(key: string, data: Uint8Array | string): Promise<void>;
  /** Like put, but never replaces: resolves false (writing nothing) when the key exists. */
  putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean>;
  /** Atomic upload of a local file of any size (multipart on S3 for large ones). */
  putFile(key: string, localPath: string): Promise<void>;
  /** Download to a local file atomically (temp + rename). */
  getFile(key: string, localPath: string): Promise<void>;
  /** Keys under a prefix ("" for all), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; no error when absent. */
  delete(key: string): Promise<void>;
  /** A Storage rooted at a sub-prefix of this one. */
  child(prefix: string): Storage;
}

export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
  readonly uri: string;
  constructor(uri: string) {
    super(`${uri}: not found`);
    this.uri = uri;
  }
}
