/**
 * localCacheCopy: one download of a remote cache per host, shared by every later bin there.
 * The copy lives in <cacheDir>/<sha256>/, so a rebuilt cache (new checksum) never reuses a
 * stale copy, and the folder appears by one rename only once it is complete and verified
 * (its whole-file sha256 recomputed and compared with cache.json).
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { InputError } from "../nblast/errors.ts";
import { LocalStorage } from "../storage/local.ts";
import { makeDirs } from "../storage/make-dir.ts";
import { hostTag } from "../storage/owner.ts";
import { sweepCopyLeftovers } from "../storage/sweep.ts";
import { trackTemp, untrackTemp } from "../storage/temp-registry.ts";
import type { Storage } from "../storage/types.ts";
import { DATA_KEY, INDEX_KEY, MANIFEST_KEY, REPORT_KEY } from "./format.ts";
import { localPathOf } from "./local-path.ts";
import { openCache, readManifest, verifyCache } from "./reader.ts";

export interface LocalCopyOptions {
  /**
   * Re-hash the downloaded files against cache.json's sha256 before publishing the copy (one
   * more pass over the data; default true): a copy is verified whole once, on arrival, and
   * every later read of it neuron by neuron.
   */
  verify?: boolean;
}

/**
 * A local Storage holding the same cache as `storage`. A cache already on local disk is
 * returned as it is; a remote one is downloaded once into cacheDir and reused afterwards.
 */
export async function localCacheCopy(storage: Storage, cacheDir: string, opts: LocalCopyOptions = {}): Promise<Storage> {
  if (localPathOf(storage.uri) !== undefined) return storage;
  const manifest = await readManifest(storage);
  const root = resolve(cacheDir);
  const dir = join(root, manifest.sha256);
  if (await isCopyOf(dir, manifest.sha256)) return new LocalStorage(dir);

  await makeDirs(root);
  // Copies that a killed process left half-done; the owner in the name says when it is gone.
  await sweepCopyLeftovers(root).catch(() => []);
  const temp = await mkdtemp(join(root, `.${manifest.sha256.slice(0, 16)}-${hostTag()}-${process.pid}-`));
  trackTemp(temp, "dir");
  try {
    for (const key of [DATA_KEY, INDEX_KEY, REPORT_KEY]) await storage.getFile(key, join(temp, key));
    // cache.json last and as fetched now: if the cache was rebuilt during the download, the
    // checksum or sizes disagree and openCache or the check below refuses the copy.
    const text = await storage.get(MANIFEST_KEY);
    await writeFile(join(temp, MANIFEST_KEY), text);
    const tempStorage = new LocalStorage(temp);
    const copied = await openCache(tempStorage);
    if (copied.checksum !== manifest.sha256) {
      throw new InputError(`the cache changed while it was being copied to ${root}; try again`, { source: storage.uri });
    }
    if (opts.verify ?? true) await verifyCache(tempStorage, { copyOf: storage.uri });
    try {
      await rename(temp, dir);
    } catch (err) {
      // Another process on this host finished the same copy first: theirs is as good.
      if (!(await isCopyOf(dir, manifest.sha256))) throw err;
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
    untrackTemp(temp);
  }
  return new LocalStorage(dir);
}

async function isCopyOf(dir: string, sha256: string): Promise<boolean> {
  try {
    return (await readManifest(new LocalStorage(dir))).sha256 === sha256;
  } catch {
    return false;
  }
}
