/**
 * mkdir -p without Node's recursive mkdir, which loops forever where mkdir answers ENOENT
 * for a parent that exists (/proc, some FUSE file systems): the missing levels are made
 * one by one, and a level that cannot be made fails at once, naming it.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    try {
      const s = await stat(at);
      if (!s.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${at}'`), { code: "ENOTDIR", syscall: "mkdir", path: at });
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      missing.push(at);
      const up = dirname(at);
      if (up === at) break;
      at = up;
    }
  }
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      await mkdir(missing[i]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}
