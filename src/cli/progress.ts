import cliProgress from "cli-progress";
import type { LocalProgress } from "../backends/local/index.ts";
import type { BuildProgress } from "../cache/index.ts";

/**
 * Progress bars on stderr: redrawn in place on a terminal, one plain line every 30 s in a
 * log (Slurm, Batch), so long jobs show they are alive without flooding their logs.
 */
interface Bar<P> {
  onProgress: (p: P) => void;
  stop: () => void;
}

function progressBar<P>(format: string, view: (p: P) => { value: number; total: number; payload: object }, etaBuffer = 10): Bar<P> {
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 30_000, etaBuffer, fps: 5, hideCursor: null },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(p) {
      const { value, total, payload } = view(p);
      if (!started) bar.start(Math.max(1, total), value, payload);
      else bar.update(value, payload);
      started = true;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** `cache build`: neurons, failures, rate and ETA. */
export function cacheBuildProgressBar(): Bar<BuildProgress> {
  return progressBar(
    "dotprops [{bar}] {percentage}% | {value}/{total} neurons | {failed} failed | {rate}/s | ETA {eta_formatted}",
    (p: BuildProgress) => ({
      value: p.done,
      total: p.total,
      payload: { failed: p.failed, rate: p.elapsed > 0 ? Math.round(p.done / p.elapsed) : 0 },
    }),
    // Per-neuron updates arrive in bursts: average the ETA over many of them.
    1000,
  );
}

/** `run`: bins, pairs, pairs/s and an ETA from the plan's cost estimates (not from the bar). */
export function runProgressBar(): Bar<LocalProgress> {
  return progressBar(
    "scoring [{bar}] {percentage}% | {bins} bins | {pairs} pairs | {rate} pairs/s | ETA {etaText}",
    (p: LocalProgress) => ({
      value: p.pairsScored,
      total: p.pairsToScore,
      payload: {
        bins: `${p.binsFinished}/${p.binsTotal}`,
        pairs: `${p.pairsScored}/${p.pairsToScore}`,
        rate: Math.round(p.pairsPerSecond),
        etaText: p.etaSeconds === undefined ? "-" : formatSeconds(p.etaSeconds),
      },
    }),
  );
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
