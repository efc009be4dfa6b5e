/**
 * Before a command starts its work, its --out is checked: what is there must be what the
 * command may replace or fill (a regular file, or a folder), never a device, FIFO, socket,
 * symbolic link or folder standing where a file goes; and the file system must take a
 * write (a probe file is made and removed), so a read-only, full or pseudo file system
 * (/proc) fails at once, in words, instead of after hours or never.
 */
import { lstat, open, stat, unlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { dirname, join } from "node:path";
import { InputError } from "../nblast/errors.ts";
import { tempPathFor } from "./atomic-file.ts";
import { parseStorageUri } from "./open.ts";
import { trackTemp, untrackTemp } from "./temp-registry.ts";

/** "-" as --out: standard output. */
export const STDOUT = "-";

function kindOf(s: Stats): string {
  if (s.isSymbolicLink()) return "a symbolic link";
  if (s.isDirectory()) return "a folder";
  if (s.isFIFO()) return "a FIFO (named pipe)";
  if (s.isSocket()) return "a socket";
  if (s.isCharacterDevice()) return "a character device";
  if (s.isBlockDevice()) return "a block device";
  if (s.isFile()) return "a file";
  return "not a regular file";
}

/**
 * --out FILE: absent, or a regular file (which is replaced atomically). Anything else is
 * refused (InputError, exit status 2): the atomic write would put a regular file in its place.
 * Then the folder it goes into is made and probed.
 */
export async function checkOutFile(path: string, option = "--out"): Promise<void> {
  const s = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (s !== undefined && !s.isFile()) {
    const fix = s.isSymbolicLink()
      ? "give the path it points to, or remove the link"
      : s.isDirectory()
        ? `give a file path, e.g. ${join(path, "out")}`
        : `give the path of a regular file (or ${option} - for standard output)`;
    throw new InputError(`${option} ${path} is ${kindOf(s)}; nblast-fanout writes only regular files it may replace: ${fix}`);
  }
  await probeFolder(dirname(path));
}

/**
 * --out DIR (a cache or a run): absent, or a folder (a link to a folder is fine: its
 * contents are written, never the link). Then it is made and probed. S3 locations pass.
 */
export async function checkOutFolder(uri: string, option = "--out"): Promise<void> {
  const loc = parseStorageUri(uri);
  if (loc.kind !== "local") return;
  const path = loc.path;
  const s = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (s !== undefined && !s.isDirectory()) {
    throw new InputError(`${option} ${path} is ${kindOf(s)}, not a folder; give a folder (new or existing)`);
  }
  await probeFolder(path);
}

/**
 * Writes, fsyncs and removes a probe file in `dir`, or in its nearest existing ancestor when
 * it does not exist yet (the folders to be made would live on that file system: a missing
 * path cannot be a mount point), so a refused --out leaves nothing behind. fs errors
 * propagate, naming the folder.
 */
export async function probeFolder(target: string): Promise<void> {
  let dir = target;
  for (;;) {
    const s = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (s !== undefined) {
      if (!s.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, '${dir}'`), { code: "ENOTDIR", syscall: "probe", path: target });
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const probe = tempPathFor(join(dir, "write-probe"));
  trackTemp(probe);
  try {
    const fh = await open(probe, "wx");
    try {
      await fh.write("probe\n");
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    // The error is about the folder, not our probe's name.
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === "string") Object.assign(e, { path: dir, syscall: "probe" });
    throw err;
  } finally {
    await unlink(probe).catch(() => {});
    untrackTemp(probe);
  }
}
