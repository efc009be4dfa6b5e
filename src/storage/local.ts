/**
 * Storage over a local folder: key "a/b.parquet" is the file <root>/a/b.parquet.
 * Every write is temp + fsync + rename (see atomic-file.ts), so concurrent readers, other
 * workers on a shared filesystem, and crashes never see a torn file.
 *
 * One difference from S3 that a folder cannot hide: "a" and "a/b" cannot both be keys,
 * since "a" would have to be a file and a folder at once; such a put fails.
 */
import { open, readdir, readFile, stat, unlink } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { NotFoundError } from "./types.ts";
import type { Storage } from "./types.ts";
import { copyFileAtomic, errorCode, isTempName, writeFileAtomic, writeFileIfAbsent } from "./atomic-file.ts";
import { checkKey, checkPrefix, checkRange, normaliseChildPrefix, sortKeys } from "./keys.ts";

export class LocalStorage implements Storage {
  /** The absolute root folder (relative roots are resolved against the cwd once, here). */
  readonly uri: string;

  constructor(root: string) {
    const abs = resolve(root);
    // resolve() already drops trailing separators except for the filesystem root itself.
    this.uri = abs;
  }

  /** The local path a key maps to (the key is checked first). */
  pathOf(key: string): string {
    checkKey(key, this.uri);
    return join(this.uri, ...key.split("/"));
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.pathOf(key);
    try {
      const buf = await readFile(path);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      throw notFoundOr(err, path);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(offset, length, this.uri, key);
    const path = this.pathOf(key);
    let fh;
    try {
      fh = await open(path, "r");
    } catch (err) {
      throw notFoundOr(err, path);
    }
    try {
      // Truncate at the end of the file, as S3 does, without allocating past it.
      const want = Math.max(0, Math.min(length, (await fh.stat()).size - offset));
      const out = new Uint8Array(want);
      let got = 0;
      // pread at an explicit position: no shared file offset, no whole-file read.
      while (got < want) {
        const { bytesRead } = await fh.read(out, got, want - got, offset + got);
        if (bytesRead === 0) break; // the file shrank meanwhile
        got += bytesRead;
      }
      return got === want ? out : out.subarray(0, got);
    } catch (err) {
      throw notFoundOr(err, path);
    } finally {
      await fh.close();
    }
  }

  async size(key: string): Promise<number | undefined> {
    const path = this.pathOf(key);
    try {
      const s = await stat(path);
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if (isAbsence(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, data: Uint8Array | string): Promise<void> {
    await writeFileAtomic(this.pathOf(key), data);
  }

  async putIfAbsent(key: string, data: Uint8Array | string): Promise<boolean> {
    return writeFileIfAbsent(this.pathOf(key), data);
  }

  async putFile(key: string, localPath: string): Promise<void> {
    await copyFileAtomic(localPath, this.pathOf(key));
  }

  async getFile(key: string, localPath: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await copyFileAtomic(path, resolve(localPath));
    } catch (err) {
      // Only the source can be missing here: copyFileAtomic creates the destination folder.
      if (errorCode(err) === "ENOENT" && (await this.size(key)) === undefined) throw new NotFoundError(path);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix, this.uri);
    // Walk only the deepest folder the prefix names: "shards/bin=" walks <root>/shards.
    const slash = prefix.lastIndexOf("/");
    const start = slash < 0 ? this.uri : join(this.uri, ...prefix.slice(0, slash).split("/"));
    let entries;
    try {
      entries = await readdir(start, { recursive: true, withFileTypes: true });
    } catch (err) {
      if (isAbsence(err)) return [];
      throw err;
    }
    const keys: string[] = [];
    for (const entry of entries) {
      if (isTempName(entry.name)) continue;
      const path = join(entry.parentPath, entry.name);
      if (!entry.isFile()) {
        // Symlinked files count; symlinked folders are not followed (no cycles).
        if (!entry.isSymbolicLink()) continue;
        const target = await stat(path).catch(() => undefined);
        if (target === undefined || !target.isFile()) continue;
      }
      const key = relative(this.uri, path).split(sep).join("/");
      if (key.startsWith(prefix)) keys.push(key);
    }
    return sortKeys(keys);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (err) {
      if (!isAbsence(err)) throw err;
    }
  }

  child(prefix: string): Storage {
    const sub = normaliseChildPrefix(prefix, this.uri, "child prefix");
    return sub === "" ? this : new LocalStorage(join(this.uri, ...sub.split("/")));
  }
}

/** ENOENT, or a path component that is a file (ENOTDIR): either way nothing is there. */
function isAbsence(err: unknown): boolean {
  const code = errorCode(err);
  return code === "ENOENT" || code === "ENOTDIR";
}

function notFoundOr(err: unknown, path: string): unknown {
  // EISDIR: the key names a folder of other keys, which on S3 is simply absent.
  return isAbsence(err) || errorCode(err) === "EISDIR" ? new NotFoundError(path) : err;
}
