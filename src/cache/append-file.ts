import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";

/**
 * An append-only file that hashes what it writes and batches small writes, so a build of
 * millions of small neurons is not millions of syscalls.
 */
export class AppendFile {
  readonly hash: Hash = createHash("sha256");
  private readonly fh: FileHandle;
  private readonly buf: Uint8Array;
  readonly path: string;
  private used = 0;
  private written = 0;

  private constructor(fh: FileHandle, bufferBytes: number, path: string) {
    this.fh = fh;
    this.path = path;
    this.buf = new Uint8Array(bufferBytes);
  }

  static async create(path: string, bufferBytes = 4 << 20): Promise<AppendFile> {
    return new AppendFile(await open(path, "w"), bufferBytes, path);
  }

  /** Bytes appended so far (buffered or not): the offset the next append lands at. */
  get position(): number {
    return this.written + this.used;
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.hash.update(bytes);
    if (this.used + bytes.length > this.buf.length) await this.flush();
    if (bytes.length >= this.buf.length) return this.writeAll(bytes);
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const n = this.used;
    this.used = 0;
    await this.writeAll(this.buf.subarray(0, n));
  }

  /** Flushes, syncs to disk and closes. */
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.fh.sync().catch((err: unknown) => {
        throw withPath(err, this.path);
      });
    } finally {
      await this.fh.close();
    }
  }

  /** Closes without flushing (on failure). */
  async abandon(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  private async writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.written).catch((err: unknown) => {
        throw withPath(err, this.path);
      });
      done += bytesWritten;
      this.written += bytesWritten;
    }
  }
}

/** A write on a file handle names no path: the error gets ours, so the user is told which file. */
function withPath(err: unknown, path: string): unknown {
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string" && (err as NodeJS.ErrnoException).path === undefined) {
    Object.assign(err, { path, syscall: (err as NodeJS.ErrnoException).syscall ?? "write" });
  }
  return err;
}
