/**
 * The shards of a run that may be used: every done bin's shard, each checked against its
 * done marker (size and sha256) before anything reads it. `export`, `top` and a later
 * Postgres `load` all take their shards from here, so a corrupt, missing or unfinished
 * shard is never read as if it were the bin's result.
 */
import { InputError } from "../nblast/errors.ts";
import { readManifest, type RunManifest } from "../plan/manifest.ts";
import { mapLimit } from "../results/map-limit.ts";
import type { Storage } from "../storage/types.ts";
import { checkDone, doneKey } from "./markers.ts";

export interface VerifiedShard {
  readonly bin: number;
  /** shards/bin=K.parquet */
  readonly key: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly rows: number;
}

export interface RunShards {
  readonly manifest: RunManifest;
  /** The done bins' shards, verified, in bin order. */
  readonly shards: VerifiedShard[];
  /** Bins without a done marker (never run, running, failed or killed): their pairs are not in `shards`. */
  readonly pending: number[];
  /** With `partial`: done bins whose shard or marker does not hold ("RUN/shards/bin=K.parquet is missing", ...); left out. */
  readonly stale: { bin: number; reason: string }[];
}

export interface RunShardsOptions {
  /** Shards hashed at once (default 4). */
  concurrency?: number;
  /** Leave out (and return in `stale`) done bins whose shard does not hold, instead of throwing. */
  partial?: boolean;
}

/**
 * Verifies every done bin's shard against its marker (re-hashing the whole shard) and
 * returns them with the bins that are not done. A shard that is missing or does not match,
 * or a marker that cannot be read, is an InputError naming each such shard by its path with
 * what is wrong and how to recompute it; nothing is returned then. With `partial` such bins
 * are returned in `stale` instead (and in neither `shards` nor `pending`).
 */
export async function verifiedShards(run: Storage, opts: RunShardsOptions = {}): Promise<RunShards> {
  const manifest = await readManifest(run);
  const bins = manifest.work.bins.length;
  const doneBins = new Set<number>();
  for (const key of await run.list("done/")) {
    const m = /^done\/(\d+)\.json$/.exec(key);
    if (m !== null && Number(m[1]) < bins) doneBins.add(Number(m[1]));
  }
  const checked = await mapLimit([...doneBins].sort((a, b) => a - b), opts.concurrency ?? 4, async (bin) => ({
    bin,
    check: await checkDone(run, manifest, bin, "checksum"),
  }));
  const shards: VerifiedShard[] = [];
  const problems: string[] = [];
  const stale: { bin: number; reason: string }[] = [];
  for (const { bin, check } of checked) {
    if (check.state === "done") {
      const s = check.marker.shard;
      shards.push({ bin, key: s.key, sha256: s.sha256, bytes: s.bytes, rows: s.rows });
    } else if (check.state === "stale") {
      // every reason starts with the key it is about: the path is the run's URI and that key
      problems.push(`bin ${bin}: ${run.uri}/${check.reason}`);
      stale.push({ bin, reason: `${run.uri}/${check.reason}` });
    }
  }
  if (problems.length > 0 && opts.partial !== true) {
    const shown = problems.slice(0, 10).join("\n  ") + (problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : "");
    throw new InputError(
      `${problems.length} of the run's done bins cannot be used (nothing was read from them):\n  ${shown}\n` +
        `Recompute them: \`nblast-fanout run --resume ${run.uri}\` (or \`nblast-fanout worker --run ${run.uri} --bin K\`), ` +
        `which re-checks every ${doneKey(0).replace("0", "K")} marker and reruns the bins whose shard does not hold`,
      { source: run.uri },
    );
  }
  const accounted = new Set([...shards.map((s) => s.bin), ...stale.map((s) => s.bin)]);
  const pending: number[] = [];
  for (let b = 0; b < bins; b++) if (!accounted.has(b)) pending.push(b);
  return { manifest, shards, pending, stale };
}
