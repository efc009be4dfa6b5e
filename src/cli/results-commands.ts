import type { Command } from "commander";
import { Option } from "commander";
import { remoteBackendOf } from "../backends/remote.ts";
import { REMOTE_BACKENDS } from "../backends/remote-list.ts";
import { openCache, type CacheReader } from "../cache/index.ts";
import { tryParseId } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import { manifestStoragePolicy, type RunManifest } from "../plan/index.ts";
import { exportMerged, formatFloat32, topMatches } from "../results/index.ts";
import { openStorage } from "../storage/open.ts";
import { checkOutFile, STDOUT } from "../storage/out-target.ts";
import type { Storage } from "../storage/types.ts";
import { binStatus, formatBalance, verifiedShards, type RunShards } from "../worker/index.ts";
import { CliExit } from "./exit.ts";
import { positiveInt, positiveNumber } from "./parse-options.ts";

export function registerResults(program: Command): void {
  program
    .command("top")
    .description("print the best matches of one neuron from a run's shards")
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .requiredOption("--neuron <id|name>", "the neuron, by id or by name")
    .option("-n, --n <n>", "how many matches", positiveInt, 10)
    .option("--partial", "use the done bins that hold even when others are missing, not done or corrupt (says how many are left out)", false)
    .action(async (o: { run: string; neuron: string; n: number; partial: boolean }) => {
      const run = openStorage(o.run);
      const shards = await usableShards(run, o.partial);
      const cache = await runCache(shards.manifest);
      const id = resolveNeuron(o.neuron, cache);
      const top = await topMatches(run, id, o.n, { shards: shards.shards.map((s) => s.key) });
      const label = (x: bigint): string => {
        const i = cache.indexOf(x);
        return i < 0 ? String(x) : cache.neurons.names[i];
      };
      const out: string[] = [];
      out.push(`best matches of ${label(id)} (id ${id}) in ${o.run}, ${top.shards} shards`);
      out.push(`as query:`);
      top.asQuery.forEach((m, i) => out.push(`  ${String(i + 1).padStart(3)}  ${formatFloat32(m.score).padEnd(12)} ${label(m.targetId)} (${m.targetId})`));
      if (top.asQuery.length === 0) out.push("  (no stored rows)");
      out.push(`as target:`);
      top.asTarget.forEach((m, i) => out.push(`  ${String(i + 1).padStart(3)}  ${formatFloat32(m.score).padEnd(12)} ${label(m.queryId)} (${m.queryId})`));
      if (top.asTarget.length === 0) out.push("  (no stored rows)");
      process.stdout.write(out.join("\n") + "\n");
    });

  program
    .command("status")
    .description("where a run stands: bins done, failed (with why) and pending, and the done bins' estimated cost beside their measured compute")
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .option("--json", "print the status as JSON (bins, and the backend's section for a submitted run)")
    .option("--verify", "re-hash every done bin's shard against its done marker (default: check its size only)", false)
    .option("--vcpu-hour-price <usd>", "AWS runs: the price of a vCPU-hour for the cost figures (default 0.015, an assumed Spot price)", positiveNumber)
    .action(async (o: { run: string; json?: boolean; vcpuHourPrice?: number; verify: boolean }) => {
      const run = openStorage(o.run);
      const s = await binStatus(run, { verify: o.verify ? "checksum" : "size" });
      // A done marker whose shard does not hold is not done: named, and the status is 2.
      const staleExit = (): void => {
        if (s.stale.length > 0) {
          throw new CliExit(2, `${s.stale.length} done marker(s) do not hold (bins ${ranges(s.stale.map((x) => x.bin))}); recompute them: nblast-fanout run --resume ${run.uri}`);
        }
      };
      // A run submitted to Slurm or AWS adds what its backend knows (jobs, queue, cost).
      const backend = await remoteBackendOf(run, REMOTE_BACKENDS);
      const extra = backend === undefined ? undefined : await backend.status(run, s, { json: o.json === true, vcpuHourPrice: o.vcpuHourPrice });
      if (o.json === true) {
        const json: Record<string, unknown> = { run: o.run, bins: s.bins, counts: s.counts, failed: s.failed, pending: s.pending, stale: s.stale, verified: o.verify ? "checksum" : "size", totals: s.totals };
        if (backend !== undefined) json[backend.name] = extra?.json;
        process.stdout.write(JSON.stringify(json, null, 2) + "\n");
        staleExit();
        return;
      }
      const out = [`${o.run}: ${s.bins} bins, ${s.counts.done} done, ${s.counts.failed} failed, ${s.counts.pending} pending`];
      for (const f of s.failed) out.push(`  bin ${f.bin} failed on ${f.host} at ${f.at}: ${f.message}`);
      for (const x of s.stale) out.push(`  bin ${x.bin} is not done: ${x.reason}`);
      if (!o.verify && s.counts.done > 0) out.push(`  (done shards checked by size; --verify re-hashes them)`);
      if (s.counts.pending > 0) out.push(`  pending: ${ranges(s.pending)}`);
      out.push(...formatBalance(s.totals.balance));
      if (extra !== undefined) out.push(...extra.lines);
      process.stdout.write(out.join("\n") + "\n");
      staleExit();
    });

  program
    .command("export")
    .description("write a run's merged result (all shards) as one CSV or Parquet file")
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .addOption(new Option("--format <f>", "csv or parquet").choices(["csv", "parquet"] as const).default("csv"))
    .requiredOption("--out <file>", "local file to write (atomically; a regular file or a new name), or - for stdout")
    .option("--partial", "use the done bins that hold even when others are missing, not done or corrupt (says how many are left out)", false)
    .action(async (o: { run: string; format: "csv" | "parquet"; out: string; partial: boolean }) => {
      if (o.out !== STDOUT) await checkOutFile(o.out);
      const run = openStorage(o.run);
      const shards = await usableShards(run, o.partial);
      // Bins keep their own best N; the run's --top-n holds exactly only over the merged rows.
      const { topN } = manifestStoragePolicy(shards.manifest);
      const s = await exportMerged(run, o.format, o.out, { topN, shards: shards.shards.map((x) => x.key) });
      process.stderr.write(`exported ${s.rows} rows from ${s.shards} shards to ${s.path === STDOUT ? "standard output" : s.path}\n`);
    });
}

/** "0-3,7,9-10": bin lists stay one line at any size. */
function ranges(sorted: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * Complete or nothing: the run's done bins' shards, each verified against its done marker.
 * A corrupt or missing shard, or a bin not done yet, stops the command (exit status 2,
 * naming them) unless `partial`, which leaves them out and says how many.
 */
async function usableShards(run: Storage, partial: boolean): Promise<RunShards> {
  const shards = await verifiedShards(run, { partial });
  const bins = shards.manifest.work.bins.length;
  if (shards.pending.length > 0 && !partial) {
    throw new InputError(
      `${shards.pending.length} of ${bins} bins are not done (${ranges(shards.pending)}): their pairs would be missing. ` +
        `Finish them (nblast-fanout run --resume ${run.uri}), or pass --partial to use the ${shards.shards.length} done bins alone`,
      { source: run.uri },
    );
  }
  if (shards.shards.length === 0) {
    throw new InputError(`no bin of this run is done yet (${shards.pending.length} pending); run it first (nblast-fanout run --resume ${run.uri})`, {
      source: run.uri,
    });
  }
  const left = shards.pending.length + shards.stale.length;
  if (left > 0) {
    const parts: string[] = [];
    if (shards.pending.length > 0) parts.push(`not done: ${ranges(shards.pending)}`);
    for (const s of shards.stale.slice(0, 10)) parts.push(`bin ${s.bin}: ${s.reason}`);
    if (shards.stale.length > 10) parts.push(`... and ${shards.stale.length - 10} more corrupt`);
    process.stderr.write(
      `nblast-fanout: warning: --partial: ${left} of ${bins} bins left out, ${shards.shards.length} used (${parts.join("; ")}); ` +
        `their pairs are missing here (finish them with nblast-fanout run --resume ${run.uri})\n`,
    );
  }
  return shards;
}

/** Names come from the run's cache index (never its dotprops). */
async function runCache(manifest: RunManifest): Promise<CacheReader> {
  return openCache(openStorage(manifest.cache.uri));
}

/** --neuron: an id (decimal, up to 2^63 - 1) of the cache, else a name. */
function resolveNeuron(spec: string, cache: CacheReader): bigint {
  const asId = tryParseId(spec.trim());
  if (asId !== undefined && cache.indexOf(asId) >= 0) return asId;
  const i = cache.neurons.names.indexOf(spec);
  if (i >= 0) return cache.neurons.ids[i];
  throw new InputError(`--neuron: no neuron with id or name '${spec}' in this run's cache`);
}
