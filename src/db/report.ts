/** Text the CLI, the worker and the loader Lambda print about a load (no secret in any of it). */
import type { BinOutcome, LoadSummary } from "./load.ts";

export function formatBinOutcome(o: BinOutcome): string {
  if (o.status === "unchanged") return `bin ${o.bin}: unchanged (its shard is loaded)`;
  if (o.status === "stale") return `bin ${o.bin}: not loaded: ${o.reason}`;
  const dropped = o.catmaidRule
    ? `; CATMAID's rule dropped ${o.droppedLow} scores at or below 0.01 and ${o.droppedSelf} self pairs`
    : "";
  return `bin ${o.bin}: ${o.replaced ? "replaced with" : "loaded"} ${o.rows} rows in ${o.seconds.toFixed(2)} s${dropped}`;
}

export function formatLoadSummary(s: LoadSummary, similarityId: number): string {
  const loaded = s.outcomes.filter((o) => o.status === "loaded");
  const unchanged = s.outcomes.filter((o) => o.status === "unchanged").length;
  const stale = s.outcomes.filter((o) => o.status === "stale").length;
  const rows = loaded.reduce((a, o) => a + (o.status === "loaded" ? o.rows : 0), 0);
  const lines = [
    `similarity ${similarityId}: ${s.loadedBins} of ${s.bins} bins in the database ` +
      `(${loaded.length} loaded now, ${rows} rows; ${unchanged} unchanged; ${stale} stale; ${s.pending.length} not done yet)`,
  ];
  if (s.catmaid) {
    lines.push(
      s.complete
        ? `CATMAID: similarity ${similarityId} is complete${s.similarityUpdated ? " (object lists, status and computation time written)" : ""}`
        : `CATMAID: similarity ${similarityId} stays 'computing' until every bin is loaded`,
    );
  } else if (s.complete) {
    lines.push(`every bin of the run is loaded`);
  }
  return lines.join("\n");
}
