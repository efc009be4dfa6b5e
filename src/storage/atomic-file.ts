/**
 * Atomic local writes: data goes to a temp file in the destination's own folder (same
 * filesystem, so rename is atomic), is fsynced, then renamed (or hard-linked, for
 * create-only writes) onto the final name. Readers see the old file, no file, or the whole
 * new one; a crash or error midway leaves at most a temp file, never a torn final file.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, link, open, rename, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { makeDirs } from "./make-dir.ts";
import { hostTag } from "./owner.ts";
import { trackTemp, untrackTemp } from "./temp-registry.ts";

const TEMP_SUFFIX = ".nbf-tmp";
// Older versions wrote ".<name>.<random>.nbf-tmp", without the owner.
const TEMP_NAME = /^\..*\.(?:([0-9a-f]{8})-(\d+)-)?[0-9a-f]{12}\.nbf-tmp$/s;

/**
 * A fresh temp path next to `finalPath`: ".<name>.<host>-<pid>-<random>.nbf-tmp". The leading
 * dot keeps it out of casual listings; the suffix lets isTempName recognise strays after a
 * crash, and the host tag and pid let a later run tell whether its owner is gone (sweep.ts).
 */
export function tempPathFor(finalPath: string): string {
  // Cap the copied name so the temp name stays under the 255-byte NAME_MAX.
  const name = basename(finalPath).slice(0, 140);
  return join(dirname(finalPath), `.${name}.${hostTag()}-${process.pid}-${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
}

/** True for a file name (not a path) made by tempPathFor. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** The owner a temp name records (undefined for names of older versions). */
export function tempOwner(name: string): { hostTag: string; pid: number } | undefined {
  const m = TEMP_NAME.exec(name);
  return m === null || m[1] === undefined ? undefined : { hostTag: m[1], pid: Number(m[2]) };
}

/** Writes `data` to `path` atomically, creating parent folders. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await withTempFile(path, async (fh) => {
    await fh.writeFile(data);
  }, publishByRename);
}

/**
 * Streams `source` to `path` atomically, creating parent folders. If the source fails
 * midway, the temp file is removed and any existing file at `path` is left untouched.
 */
export async function writeStreamAtomic(
  path: string,
  source: AsyncIterable<Uint8Array | string>,
): Promise<void> {
  await withTempFile(path, async (fh) => {
    for await (const chunk of source) {
      await writeAll(fh, typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    }
  }, publishByRename);
}

/** Copies `src` to `dest` atomically, creating dest's parent folders. */
export async function copyFileAtomic(src: string, dest: string): Promise<void> {
  await makeDirs(dirname(dest));
  const temp = tempPathFor(dest);
  trackTemp(temp);
  try {
    // COPYFILE_EXCL: never clobber a name another writer could own, even a temp one.
    await copyFile(src, temp, constants.COPYFILE_EXCL);
    const fh = await open(temp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, dest);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw namingTarget(err, temp, dest);
  } finally {
    untrackTemp(temp);
  }
  await fsyncDir(dirname(dest));
}

/**
 * Writes `data` to `path` only if nothing is there, atomically and safely against
 * concurrent writers (other threads or processes, also over NFS): the complete temp file
 * is hard-linked to the final name, and link() fails with EEXIST when the name is taken.
 * Resolves true when this call created the file, false when it already existed.
 */
export async function writeFileIfAbsent(path: string, data: Uint8Array | string): Promise<boolean> {
  let created = false;
  await withTempFile(path, async (fh) => {
    await fh.writeFile(data);
  }, async (temp, finalPath) => {
    try {
      await link(temp, finalPath);
      created = true;
    } catch (err) {
      if (errorCode(err) !== "EEXIST") throw err;
    }
    // The temp name is only an extra link (or the loser's data): drop it either way.
    await unlink(temp).catch(() => {});
  });
  return created;
}

async function withTempFile(
  finalPath: string,
  fill: (fh: FileHandle) => Promise<void>,
  publish: (temp: string, finalPath: string) => Promise<void>,
): Promise<void> {
  await makeDirs(dirname(finalPath));
  const temp = tempPathFor(finalPath);
  // "wx": the random temp name must be ours alone.
  let fh: FileHandle;
  try {
    fh = await open(temp, "wx");
  } catch (err) {
    throw namingTarget(err, temp, finalPath);
  }
  trackTemp(temp);
  try {
    try {
      await fill(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await publish(temp, finalPath);
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw namingTarget(err, temp, finalPath);
  } finally {
    untrackTemp(temp);
  }
  await fsyncDir(dirname(finalPath));
}

async function publishByRename(temp: string, finalPath: string): Promise<void> {
  await rename(temp, finalPath);
}

async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let done = 0;
  while (done < chunk.byteLength) {
    const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done);
    done += bytesWritten;
  }
}

/**
 * Makes the rename itself durable. Best effort: Windows cannot open folders for fsync,
 * and some network filesystems refuse it; the data file itself was already fsynced.
 */
async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // ignored on purpose, see above
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * An fs error names the file the user asked for, not our temp name, and always a path
 * (a write on a file handle has none): what system-error.ts turns into words.
 */
function namingTarget(err: unknown, temp: string, finalPath: string): unknown {
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === "string") {
    const e = err as NodeJS.ErrnoException;
    if (e.path === undefined || e.path === temp) {
      e.path = finalPath;
      e.message = e.message.split(temp).join(finalPath);
    }
  }
  return err;
}

export function errorCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string"
    ? err.code
    : undefined;
}
