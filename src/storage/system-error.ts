/**
 * System errors in words: an fs error (NodeJS.ErrnoException with a path) becomes one line
 * naming the path, what failed and what to do, instead of "ENOENT: no such file ...".
 */
import { basename, dirname, join } from "node:path";

export interface SystemErrorText {
  readonly message: string;
  /** 2 when the path the user gave is unusable (as bad input), 1 when the machine failed. */
  readonly exitCode: 1 | 2;
}

const VERB: Record<string, string> = {
  open: "open",
  read: "read",
  write: "write",
  mkdir: "create the folder",
  rmdir: "remove the folder",
  rename: "move a file into",
  link: "create",
  unlink: "remove",
  copyfile: "copy to",
  scandir: "list the folder",
  stat: "look at",
  lstat: "look at",
  fsync: "flush",
  mkdtemp: "create a scratch folder in",
  access: "access",
  probe: "write into",
  opendir: "list the folder",
  realpath: "resolve",
  readlink: "read the link",
  chmod: "change the mode of",
  ftruncate: "truncate",
  symlink: "create the link",
  rm: "remove",
  close: "close",
  utime: "touch",
};

/** The text for an fs error, or undefined when it is not one (or has no known code). */
export function describeSystemError(err: unknown): SystemErrorText | undefined {
  if (!(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException;
  if (typeof e.code !== "string" || !/^E[A-Z]+$/.test(e.code)) return undefined;
  // File system errors only: a network or spawn error with the same code (EACCES on a
  // socket, ENOENT of a missing program) is told by whoever made the call.
  if (typeof e.path !== "string" && !(e.syscall !== undefined && e.syscall in VERB)) return undefined;
  if (e.syscall !== undefined && !(e.syscall in VERB)) return undefined;
  const path = typeof e.path === "string" ? displayPath(e.path) : undefined;
  const what = `cannot ${VERB[e.syscall ?? ""] ?? e.syscall ?? "use"} ${path ?? "a file"}`;
  const where = path === undefined ? "that location" : path;
  const folder = path === undefined ? "its folder" : dirname(path);
  const text = (reason: string, fix: string, exitCode: 1 | 2 = 2): SystemErrorText => ({
    message: `${what}: ${reason} (${e.code}); ${fix}`,
    exitCode,
  });
  switch (e.code) {
    case "EROFS":
      return text("read-only file system", `choose an --out on a writable file system (or remount ${folder} read-write)`);
    case "ENOSPC":
      return text("no space left on the device", `free space on the file system of ${folder} or choose another location, then run the command again (finished work is kept)`, 1);
    case "EDQUOT":
      return text("disk quota exceeded", `free space within your quota on ${folder} or choose another location, then run the command again`, 1);
    case "EACCES":
    case "EPERM":
      return text("permission denied", `check the owner and permissions of ${where} and ${folder}, or choose a location you may write`);
    case "ENOTDIR":
      return text("a part of the path is a file, not a folder", `check the path ${where}: every part before the last must be a folder`);
    case "EISDIR":
      return text("it is a folder", `give a file path, e.g. ${join(where, "out")}`);
    case "ENOENT":
      return text("no such file or folder", `check the path ${where} (a file system such as /proc or /sys cannot hold new files)`);
    case "EEXIST":
      return text("something else is already there", `remove ${where} or choose another name`);
    case "ELOOP":
      return text("too many symbolic links", `check the links along ${where}`);
    case "ENAMETOOLONG":
      return text("the name is too long", "choose a shorter path");
    case "EMFILE":
    case "ENFILE":
      return text("too many open files", "raise the limit (ulimit -n) or use fewer --threads", 1);
    case "EIO":
      return text("input/output error", `the device under ${folder} failed; check it (dmesg) and run the command again`, 1);
    case "EXDEV":
      return text("the temp file and its target are on different file systems", `choose an --out whose folder is on one file system`);
    case "EBUSY":
    case "ETXTBSY":
      return text("the file or device is busy", `stop what holds ${where} or choose another location`, 1);
    case "ENXIO":
    case "ENODEV":
      return text("not a file, or no such device", `give the path of a regular file or folder`);
    default:
      return undefined;
  }
}

/** A temp file's error names the file it was for: ".x.csv.<tag>.nbf-tmp" reads as "x.csv". */
function displayPath(path: string): string {
  const m = /^\.(.*)\.(?:[0-9a-f]{8}-\d+-)?[0-9a-f]{12}\.nbf-tmp$/s.exec(basename(path));
  return m === null ? path : join(dirname(path), m[1]);
}
