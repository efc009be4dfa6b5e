import cliProgress from "cli-progress";
import type { LocalProgress } from "../backends/local/index.ts";

/**
 * The `run` progress bar: bins, pairs/s and ETA, redrawn in place on a terminal and one line
 * every 30 s in a log. The ETA comes from the plan's cost estimates, not from the bar.
 */
export function runProgressBar(): { onProgress: (p: LocalProgress) => void; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: "scoring [{bar}] {percentage}% | {bins} bins | {pairs} pairs | {rate} pairs/s | ETA {etaText}",
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 30_000,
      fps: 5,
      hideCursor: null,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(p) {
      const payload = {
        bins: `${p.binsFinished}/${p.binsTotal}`,
        pairs: `${p.pairsScored}/${p.pairsToScore}`,
        rate: Math.round(p.pairsPerSecond),
        etaText: p.etaSeconds === undefined ? "-" : formatSeconds(p.etaSeconds),
      };
      if (!started) {
        bar.start(Math.max(1, p.pairsToScore), p.pairsScored, payload);
        started = true;
      } else bar.update(p.pairsScored, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
