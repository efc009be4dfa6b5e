/**
 * A lease file: a small JSON object created only if absent (O_EXCL locally, a conditional
 * PUT on S3) that names its holder (host, pid, start time) and is renewed while held. It
 * serves as a folder's exclusive lock (`.nbf-lock.json`) and as a bin's claim
 * (`claims/K.json`). A holder is gone when, on this host, its pid no longer exists, or, on
 * another host, it has not renewed for a lease (NBLAST_FANOUT_LEASE_SECONDS, default 600);
 * a gone holder's file is taken over.
 *
 * Taking over is "delete if still the same, then create if absent": two takers racing on
 * one stale file both delete, but only one create succeeds, and each taker reads the file
 * back to be sure it holds it.
 */
import { hostname } from "node:os";
import { InputError } from "../nblast/errors.ts";
import { hostTag, leaseSeconds, ownerGone } from "./owner.ts";
import { NotFoundError, type Storage } from "./types.ts";

export const LEASE_FORMAT = "nblast-fanout/lease";

export interface LeaseHolder {
  readonly format: typeof LEASE_FORMAT;
  /** What holds it, e.g. "cache build" or "run (bin 3)". */
  readonly what: string;
  readonly host: string;
  readonly hostTag: string;
  readonly pid: number;
  readonly started: string;
  readonly renewed: string;
}

export type LeaseAttempt = { readonly lease: Lease; readonly holder?: undefined } | { readonly lease?: undefined; readonly holder: LeaseHolder };

export function describeHolder(h: LeaseHolder): string {
  return `${h.what} (pid ${h.pid} on ${h.host}, since ${h.started})`;
}

function parseHolder(bytes: Uint8Array): LeaseHolder | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LeaseHolder>;
    if (v.format !== LEASE_FORMAT || typeof v.host !== "string" || typeof v.pid !== "number" || typeof v.renewed !== "string") return undefined;
    return v as LeaseHolder;
  } catch {
    return undefined;
  }
}

async function getOrUndefined(storage: Storage, key: string): Promise<Uint8Array | undefined> {
  try {
    return await storage.get(key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

export function holderGone(h: LeaseHolder, nowMs = Date.now()): boolean {
  const renewed = Date.parse(h.renewed);
  return ownerGone({ sameHost: h.host === hostname(), pid: h.pid, renewedMs: Number.isFinite(renewed) ? renewed : 0 }, nowMs);
}

export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private released = false;
  readonly storage: Storage;
  readonly key: string;
  private holder: LeaseHolder;

  private constructor(storage: Storage, key: string, holder: LeaseHolder) {
    this.storage = storage;
    this.key = key;
    this.holder = holder;
    // Renew three times a lease, so a holder on another host is never taken for gone.
    const every = Math.max(50, (leaseSeconds() * 1000) / 3);
    this.timer = setInterval(() => {
      this.renewing = this.renewing.then(() => this.renew()).catch(() => {});
    }, every);
    this.timer.unref();
  }

  /** One attempt: the lease, or who holds it now. A gone holder's file is taken over. */
  static async tryAcquire(storage: Storage, key: string, what: string): Promise<LeaseAttempt> {
    const now = new Date().toISOString();
    const mine: LeaseHolder = { format: LEASE_FORMAT, what, host: hostname(), hostTag: hostTag(), pid: process.pid, started: now, renewed: now };
    const text = JSON.stringify(mine) + "\n";
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await storage.putIfAbsent(key, text)) {
        // Read back: a racing taker may have deleted ours between its check and its delete.
        const back = await getOrUndefined(storage, key);
        const h = back === undefined ? undefined : parseHolder(back);
        if (h !== undefined && h.pid === mine.pid && h.host === mine.host && h.started === mine.started) return { lease: new Lease(storage, key, mine) };
        continue;
      }
      const bytes = await getOrUndefined(storage, key);
      if (bytes === undefined) continue; // released meanwhile
      const holder = parseHolder(bytes);
      if (holder !== undefined && !holderGone(holder)) return { holder };
      // Gone (or unreadable): delete it only if it is still the file we judged.
      const again = await getOrUndefined(storage, key);
      if (again !== undefined && sameBytes(again, bytes)) await storage.delete(key);
    }
    const bytes = await getOrUndefined(storage, key);
    const holder = bytes === undefined ? undefined : parseHolder(bytes);
    if (holder !== undefined) return { holder };
    throw new Error(`${storage.uri}/${key}: could not take the lease (it changed hands three times)`);
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    this.holder = { ...this.holder, renewed: new Date().toISOString() };
    await this.storage.put(this.key, JSON.stringify(this.holder) + "\n");
  }

  /** Stops renewing and removes the file (if it is still ours). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.renewing;
    const bytes = await getOrUndefined(this.storage, this.key);
    const h = bytes === undefined ? undefined : parseHolder(bytes);
    if (h !== undefined && h.pid === this.holder.pid && h.host === this.holder.host && h.started === this.holder.started) {
      await this.storage.delete(this.key);
    }
  }
}

/** A folder's lock: `.nbf-lock.json` in it. */
export const LOCK_KEY = ".nbf-lock.json";

export class LockHeldError extends InputError {
  readonly holder: LeaseHolder;
  constructor(uri: string, holder: LeaseHolder) {
    super(
      `${uri} is locked by ${describeHolder(holder)}; wait until it ends (a lock whose process is gone is taken over: ` +
        `at once on the same host, after ${leaseSeconds()} s without renewal from another host, or remove ${uri}/${LOCK_KEY})`,
    );
    this.holder = holder;
  }
}

/** The folder's exclusive lock, or a LockHeldError (exit status 2) naming the holder. */
export async function lockFolder(storage: Storage, what: string): Promise<Lease> {
  const a = await Lease.tryAcquire(storage, LOCK_KEY, what);
  if (a.lease !== undefined) return a.lease;
  throw new LockHeldError(storage.uri, a.holder);
}

/** The folder's lock, waiting while another live process holds it (saying so once). */
export async function lockFolderWaiting(
  storage: Storage,
  what: string,
  opts: { onWait?: (holder: LeaseHolder) => void; pollMs?: number; signal?: AbortSignal } = {},
): Promise<Lease> {
  let told = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    const a = await Lease.tryAcquire(storage, LOCK_KEY, what);
    if (a.lease !== undefined) return a.lease;
    if (!told) opts.onWait?.(a.holder);
    told = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
  }
}
