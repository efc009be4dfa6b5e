/**
 * Leftovers of killed processes in a local folder: temp files of atomic writes
 * (".<name>.<host>-<pid>-<random>.nbf-tmp") and scratch folders of cache builds
 * (".cache-build-<host>-<pid>-<random>"). One is removed when its owner is gone: on this
 * host its pid no longer exists; from another host (or a name of an older version that
 * records no owner) it has not changed for a lease (NBLAST_FANOUT_LEASE_SECONDS).
 * This process's own are never touched.
 */
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { isTempName, tempOwner } from "./atomic-file.ts";
import { hostTag, leaseSeconds, pidAlive } from "./owner.ts";
import { parseStorageUri } from "./open.ts";

const SCRATCH = /^\.cache-build-(?:([0-9a-f]{8})-(\d+)-)?/;
/** Scratch folders of local copies of remote caches (cache/local-copy.ts), in the cache folder. */
const COPY_SCRATCH = /^\.[0-9a-f]{16}-(?:([0-9a-f]{8})-(\d+)-)?/;

function gone(owner: { hostTag: string; pid: number } | undefined, mtimeMs: number): boolean {
  if (owner !== undefined && owner.hostTag === hostTag()) return owner.pid !== process.pid && !pidAlive(owner.pid);
  return Date.now() - mtimeMs > leaseSeconds() * 1000;
}

/** Removes the leftovers under `uri` (a local folder; S3 has none to sweep). Returns the paths removed. */
export async function sweepLeftovers(uri: string, opts: { maxDepth?: number } = {}): Promise<string[]> {
  const loc = parseStorageUri(uri);
  if (loc.kind !== "local") return [];
  const removed: string[] = [];
  await walk(loc.path, opts.maxDepth ?? 3, removed, SCRATCH);
  return removed;
}

/** The same for a folder of local cache copies (`--cache-dir`): only its top level. */
export async function sweepCopyLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  await walk(dir, 1, removed, COPY_SCRATCH);
  return removed;
}

async function walk(dir: string, depth: number, removed: string[], scratch: RegExp): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // absent or unreadable: nothing of ours to sweep
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isFile() && isTempName(e.name)) {
      const s = await lstat(path).catch(() => undefined);
      if (s !== undefined && gone(tempOwner(e.name), s.mtimeMs)) {
        await rm(path, { force: true });
        removed.push(path);
      }
    } else if (e.isDirectory()) {
      const m = scratch.exec(e.name);
      if (m !== null) {
        const s = await lstat(path).catch(() => undefined);
        const owner = m[1] === undefined ? undefined : { hostTag: m[1], pid: Number(m[2]) };
        if (s !== undefined && gone(owner, s.mtimeMs)) {
          await rm(path, { recursive: true, force: true });
          removed.push(path);
        }
      } else if (depth > 1) {
        await walk(path, depth - 1, removed, scratch);
      }
    }
  }
}
