/**
 * What `cache build`, `plan` and `run` do before touching an output folder: check it is a
 * writable folder, take its lock, remove the leftovers of killed processes; and for a
 * cache, refuse to rebuild one a planned run depends on unless --force (which invalidates
 * the run's done bins, scored on the old data).
 */
import { dirname } from "node:path";
import { InputError } from "../nblast/errors.ts";
import { readManifest } from "../plan/index.ts";
import { describeHolder, Lease, lockFolder, lockFolderWaiting, type LeaseHolder } from "../storage/lease-file.ts";
import { openStorage, parseStorageUri } from "../storage/open.ts";
import { checkOutFolder } from "../storage/out-target.ts";
import { sweepLeftovers } from "../storage/sweep.ts";
import type { Storage } from "../storage/types.ts";

/** Checked, locked (refused when held: exit status 2, naming the holder) and swept. */
export async function prepareOutFolder(out: Storage, what: string, opts: { wait?: boolean; option?: string } = {}): Promise<Lease> {
  await checkOutFolder(out.uri, opts.option);
  const lock = opts.wait === true
    ? await lockFolderWaiting(out, what, { onWait: (h) => process.stderr.write(`waiting for ${out.uri}: it is locked by ${describeHolder(h)}\n`) })
    : await lockFolder(out, what);
  try {
    const removed = await sweepLeftovers(out.uri);
    if (removed.length > 0) process.stderr.write(`removed ${removed.length} leftovers of killed processes in ${out.uri}\n`);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return lock;
}

/** The run folder just above a cache folder, when its plan names this cache. */
export async function runAboveCache(cache: Storage): Promise<Storage | undefined> {
  const parent = parentUri(cache.uri);
  if (parent === undefined) return undefined;
  const run = openStorage(parent);
  if ((await run.size("manifest.json")) === undefined) return undefined;
  try {
    const m = await readManifest(run);
    return m.cache.uri === cache.uri ? run : undefined;
  } catch {
    return undefined; // not a plan we can read: not ours to guard
  }
}

function parentUri(uri: string): string | undefined {
  const loc = parseStorageUri(uri);
  if (loc.kind === "local") return dirname(loc.path) === loc.path ? undefined : dirname(loc.path);
  const cut = loc.prefix.lastIndexOf("/");
  return loc.prefix === "" ? undefined : `s3://${loc.bucket}/${cut < 0 ? "" : loc.prefix.slice(0, cut)}`;
}

/**
 * A cache rebuilt under the run planned over it: refused without --force, and refused while
 * a live process is computing one of the run's bins. Returns what to do once the build is
 * over (`afterBuild(checksum)`), see invalidateIfChanged.
 */
export async function guardCacheRebuild(cache: Storage, force: boolean): Promise<{ afterBuild: (checksum: string) => Promise<void> }> {
  const nothing = { afterBuild: async () => {} };
  const run = await runAboveCache(cache);
  if (run === undefined || (await cache.size("cache.json")) === undefined) return nothing;
  const done = await run.list("done/");
  if (!force) {
    throw new InputError(
      `${cache.uri} is the cache of the run planned in ${run.uri} (${done.length} bins done); rebuilding it would leave those bins ` +
        `scored on other data. Build into a new folder, or pass --force to rebuild it and invalidate the run's done bins ` +
        `(then nblast-fanout run --resume ${run.uri} computes them again)`,
    );
  }
  for (const key of await run.list("claims/")) {
    const a = await Lease.tryAcquire(run, key, "cache build --force");
    if (a.lease === undefined) throw new InputError(`${run.uri} is being run: ${describeHolder(a.holder as LeaseHolder)}; stop it before rebuilding its cache`);
    await a.lease.release();
  }
  return { afterBuild: (checksum) => invalidateIfChanged(run, checksum) };
}

/**
 * --force: the run's done bins are invalidated (removed) when the rebuilt cache is not the
 * one planned. When it is byte for byte the planned one (the same checksum, as when a
 * damaged cache is rebuilt from the same inputs) they stay: each done bin read only
 * neurons that passed their checksums, so its rows are those of this cache.
 */
async function invalidateIfChanged(run: Storage, checksum: string): Promise<void> {
  const planned = (await readManifest(run)).cache.checksum;
  const done = await run.list("done/");
  if (checksum === planned) {
    process.stderr.write(`--force: the rebuilt cache is the one ${run.uri} was planned with (same checksum); its ${done.length} done bins stay valid\n`);
    return;
  }
  for (const key of done) await run.delete(key);
  process.stderr.write(
    `--force: the rebuilt cache differs from the one ${run.uri} was planned with; its ${done.length} done bins are invalidated ` +
      `(plan a new run on this cache: the plan records the old checksum)\n`,
  );
}
