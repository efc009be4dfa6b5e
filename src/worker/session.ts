/**
 * What a process keeps between the bins it runs: the run's manifest, the cache (a remote
 * cache is copied once per host into the local cache folder and reused by every later bin
 * there, also by other processes), and one pool of scoring threads.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { localCacheCopy } from "../cache/local-copy.ts";
import { openCache, type CacheReader } from "../cache/reader.ts";
import { InputError } from "../nblast/errors.ts";
import { checkCache, readManifest, type RunManifest } from "../plan/manifest.ts";
import { openStorage } from "../storage/open.ts";
import type { Storage } from "../storage/types.ts";
import { ScorePool } from "./score-pool.ts";
import { resolveThreadCount } from "./thread-count.ts";

/** $NBLAST_FANOUT_CACHE_DIR, else $XDG_CACHE_HOME/nblast-fanout, else ~/.cache/nblast-fanout. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NBLAST_FANOUT_CACHE_DIR) return env.NBLAST_FANOUT_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "nblast-fanout");
  return join(homedir(), ".cache", "nblast-fanout");
}

export interface WorkerSessionOptions {
  run: Storage;
  /** Scoring threads; default resolveThreadCount (Slurm, container quota, machine). */
  threads?: number;
  /** Where a remote cache is copied; default defaultCacheDir(). */
  cacheDir?: string;
  /** How the manifest's cache URI becomes a Storage (default openStorage). */
  openCacheStorage?: (uri: string) => Storage;
}

export class WorkerSession {
  readonly run: Storage;
  readonly manifest: RunManifest;
  readonly threads: number;
  readonly cacheDir: string;
  private readonly openCacheStorage: (uri: string) => Storage;
  private cachePromise: Promise<CacheReader> | undefined;
  private scorePool: ScorePool | undefined;
  private closed = false;

  constructor(run: Storage, manifest: RunManifest, opts: WorkerSessionOptions) {
    this.run = run;
    this.manifest = manifest;
    this.threads = checkThreads(resolveThreadCount(opts.threads));
    this.cacheDir = opts.cacheDir ?? defaultCacheDir();
    this.openCacheStorage = opts.openCacheStorage ?? ((uri) => openStorage(uri));
  }

  /** The run's cache, local (copied on first use if remote), checked against the plan. */
  cache(): Promise<CacheReader> {
    this.cachePromise ??= this.openRunCache().catch((err: unknown) => {
      this.cachePromise = undefined; // a later bin may try again (a transient download failure)
      throw err;
    });
    return this.cachePromise;
  }

  pool(): ScorePool {
    if (this.closed) throw new Error("WorkerSession used after close()");
    this.scorePool ??= new ScorePool(this.threads);
    return this.scorePool;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.scorePool?.close();
  }

  private async openRunCache(): Promise<CacheReader> {
    const m = this.manifest;
    const remote = this.openCacheStorage(m.cache.uri);
    const local = await localCacheCopy(remote, this.cacheDir);
    const reader = await openCache(local, local === remote ? {} : { copyOf: remote.uri });
    checkCache(m, reader.checksum);
    return reader;
  }
}

export async function openWorkerSession(opts: WorkerSessionOptions): Promise<WorkerSession> {
  const manifest = await readManifest(opts.run);
  return new WorkerSession(opts.run, manifest, opts);
}

function checkThreads(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new InputError(`--threads must be a positive integer, got ${String(n)}`);
  return n;
}
