/**
 * A run planned on this machine, moved into the stack's bucket for the cloud:
 *
 * - its cache, when the workers could not read it where it is (a local folder, another
 *   bucket), is copied to s3://BUCKET/caches/<name>/ (cache.json last, so a half-copied
 *   cache is never taken for a cache) and checked by its checksum;
 * - the manifest names its cache by URI and its digest covers that URI, so a moved cache
 *   means a re-sealed manifest (withCacheUri): the same plan, the same cache checksum, a
 *   new digest. The bins are the same bins;
 * - bins already done here keep their work: the shard is uploaded as it is and its done
 *   marker re-issued for the re-sealed manifest (same shard sha256, same rows);
 * - the manifest itself is not written here: `submit aws` first claims the run
 *   (aws/submission.json), then writes the manifest, so that the start Lambda, which
 *   reacts to the manifest's arrival, finds the run already claimed and leaves it alone.
 */
import { LOCK_KEY } from "../../storage/lease-file.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localPathOf } from "../../cache/local-path.ts";
import { openCache } from "../../cache/reader.ts";
import { InputError } from "../../nblast/errors.ts";
import { MANIFEST_KEY, readManifest, serializeManifest, withCacheUri, type RunManifest } from "../../plan/manifest.ts";
import { mapLimit } from "../../results/map-limit.ts";
import { openStorage } from "../../storage/open.ts";
import type { Storage } from "../../storage/types.ts";
import { checkDone, doneKey, type DoneMarker } from "../../worker/markers.ts";

/** The cache's own commit file, written last (src/cache/format.ts). */
const CACHE_COMMIT_KEY = "cache.json";

/** Whether the workers' role (read caches/* and runs/* of the bucket) can read this cache. */
export function workersCanRead(cacheUri: string, bucket: string): boolean {
  const m = /^s3:\/\/([^/]+)\/(caches|runs)\/./.exec(cacheUri);
  return m !== null && m[1] === bucket;
}

export interface UploadedRun {
  /** The manifest as it is to be written in the bucket (re-sealed if the cache moved). */
  readonly manifest: RunManifest;
  readonly cacheUri: string;
  /** "copied": uploaded now; "present": the same cache was already there; "in place": not moved. */
  readonly cache: "copied" | "present" | "in place";
  /** Bins done locally whose shards were carried over. */
  readonly doneCarried: number;
}

export interface UploadOptions {
  readonly bucket: string;
  /** s3://BUCKET/caches/<name>: where a cache the workers cannot read is copied. */
  readonly cacheDest: Storage;
  readonly log?: (line: string) => void;
  readonly concurrency?: number;
}

export async function uploadLocalRun(local: Storage, dest: Storage, opts: UploadOptions): Promise<UploadedRun> {
  const log = opts.log ?? (() => {});
  const original = await readManifest(local);
  let manifest = original;
  let cache: UploadedRun["cache"] = "in place";
  if (!workersCanRead(original.cache.uri, opts.bucket)) {
    cache = await copyCache(openStorage(original.cache.uri), opts.cacheDest, original.cache.checksum, log);
    manifest = withCacheUri(original, opts.cacheDest.uri);
  }
  const text = serializeManifest(manifest);
  if ((await dest.size(MANIFEST_KEY)) !== undefined) {
    const there = new TextDecoder().decode(await dest.get(MANIFEST_KEY));
    if (there !== text) {
      throw new InputError(`${dest.uri} already holds another run (its manifest differs from this one's); choose another --name`);
    }
  }

  // Bins done here: their shard as it is, their marker for the re-sealed plan.
  const doneKeys = await local.list("done/");
  const bins = doneKeys.map((k) => /^done\/(\d+)\.json$/.exec(k)).filter((m) => m !== null).map((m) => Number(m![1]));
  const carried = await mapLimit(bins, opts.concurrency ?? 8, async (bin) => {
    if (bin >= original.work.bins.length) return false;
    const check = await checkDone(local, original, bin);
    if (check.state !== "done") return false;
    if ((await checkDone(dest, manifest, bin, "size")).state === "done") return true;
    const marker: DoneMarker = { ...check.marker, manifest: manifest.digest, cache: { ...check.marker.cache, uri: manifest.cache.uri } };
    const localRoot = localPathOf(local.uri);
    const shard = check.marker.shard.key;
    if (localRoot !== undefined) await dest.putFile(shard, join(localRoot, ...shard.split("/")));
    else await dest.put(shard, await local.get(shard));
    await dest.put(doneKey(bin), JSON.stringify(marker, null, 2) + "\n");
    return true;
  });
  const doneCarried = carried.filter(Boolean).length;
  if (doneCarried > 0) log(`carried over ${doneCarried} bins already done here`);
  return { manifest, cacheUri: manifest.cache.uri, cache, doneCarried };
}

/** Copies a cache (every file, cache.json last) unless the same one is already there. */
async function copyCache(src: Storage, dest: Storage, checksum: string, log: (line: string) => void): Promise<"copied" | "present"> {
  if ((await dest.size(CACHE_COMMIT_KEY)) !== undefined) {
    const there = await openCache(dest);
    if (there.checksum === checksum) {
      log(`the cache is already in ${dest.uri}`);
      return "present";
    }
    throw new InputError(`${dest.uri} holds another cache (checksum ${there.checksum}, this run's is ${checksum}); choose another --cache-name`);
  }
  const reader = await openCache(src);
  if (reader.checksum !== checksum) {
    throw new InputError(`the cache at ${src.uri} has changed since this run was planned (checksum ${reader.checksum}, the plan was made for ${checksum}); plan a new run`);
  }
  // Not a lock or a killed build's scratch folder (src/storage/lease-file.ts, sweep.ts): only the cache.
  const keys = (await src.list("")).filter((k) => k !== CACHE_COMMIT_KEY && k !== LOCK_KEY && !k.startsWith(".cache-build-"));
  const srcPath = localPathOf(src.uri);
  const scratch = srcPath === undefined ? await mkdtemp(join(tmpdir(), "nbf-cache-copy-")) : undefined;
  log(`copying the cache ${src.uri} to ${dest.uri} (${keys.length + 1} files)`);
  try {
    for (const key of keys) {
      if (srcPath !== undefined) await dest.putFile(key, join(srcPath, ...key.split("/")));
      else {
        const tmp = join(scratch!, "file");
        await src.getFile(key, tmp);
        await dest.putFile(key, tmp);
      }
    }
    await dest.put(CACHE_COMMIT_KEY, await src.get(CACHE_COMMIT_KEY));
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
  const copied = await openCache(dest);
  if (copied.checksum !== checksum) throw new Error(`the cache copied to ${dest.uri} has checksum ${copied.checksum}, expected ${checksum}`);
  return "copied";
}
