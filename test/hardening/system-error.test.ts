/** System errors in words: one line naming the path, what failed and what to do. */
import { describe, expect, it } from "vitest";
import { describeSystemError } from "../../src/storage/system-error.ts";
import { makeDirs } from "../../src/storage/make-dir.ts";

const fsError = (code: string, syscall: string, path?: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, path });

describe("describeSystemError", () => {
  it.each([
    ["EROFS", "open", "/ro/x.csv", "cannot open /ro/x.csv: read-only file system (EROFS); choose an --out on a writable file system (or remount /ro read-write)", 2],
    ["ENOSPC", "write", "/full/x.csv", "cannot write /full/x.csv: no space left on the device (ENOSPC); free space on the file system of /full", 1],
    ["EACCES", "mkdir", "/root/x", "cannot create the folder /root/x: permission denied (EACCES); check the owner and permissions of /root/x and /root", 2],
    ["ENOTDIR", "open", "/a/file/x.csv", "cannot open /a/file/x.csv: a part of the path is a file, not a folder (ENOTDIR)", 2],
    ["ENOENT", "mkdir", "/proc/x", "cannot create the folder /proc/x: no such file or folder (ENOENT)", 2],
  ] as const)("%s", (code, syscall, path, start, exitCode) => {
    const t = describeSystemError(fsError(code, syscall, path));
    expect(t?.message.startsWith(start), t?.message).toBe(true);
    expect(t?.message).not.toContain("\n");
    expect(t?.exitCode).toBe(exitCode);
  });

  it("names the target, not the temp file, and leaves other errors alone", () => {
    const t = describeSystemError(fsError("ENOSPC", "write", "/d/.scores.csv.0a1b2c3d-17-0123456789ab.nbf-tmp"));
    expect(t?.message).toContain("cannot write /d/scores.csv:");
    expect(describeSystemError(new Error("plain"))).toBeUndefined();
    expect(describeSystemError(new TypeError("x"))).toBeUndefined();
    expect(describeSystemError(fsError("ENOENT", "spawn docker"))).toBeUndefined();
    expect(describeSystemError(fsError("EACCES", "connect"))).toBeUndefined();
  });
});

describe("makeDirs", () => {
  it("fails at once where Node's recursive mkdir loops forever (/proc)", async () => {
    await expect(makeDirs("/proc/nbf-test/a/b")).rejects.toMatchObject({ code: "ENOENT", path: "/proc/nbf-test" });
  });
});
