import cliProgress from "cli-progress";
import type { BuildProgress } from "./build.ts";

export interface ProgressBar {
  /** Pass as buildCache's onProgress. */
  onProgress: (p: BuildProgress) => void;
  /** Draws the final state and releases the terminal line. */
  stop: () => void;
}

export interface ProgressBarOptions {
  label?: string;
  stream?: NodeJS.WritableStream;
  /** Without a terminal (Slurm, Batch logs): seconds between plain progress lines. Default 30. */
  logEvery?: number;
}

/**
 * A progress bar with rate, failures and ETA for a cache build: redrawn in place on a
 * terminal, one line every `logEvery` seconds in a log file.
 */
export function cacheBuildProgressBar(opts: ProgressBarOptions = {}): ProgressBar {
  const label = opts.label ?? "dotprops";
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} neurons | {failed} failed | {rate}/s | ETA {eta_formatted}`,
      stream: opts.stream ?? process.stderr,
      noTTYOutput: true,
      notTTYSchedule: (opts.logEvery ?? 30) * 1000,
      // Per-neuron updates arrive in bursts: average the ETA over many of them.
      etaBuffer: 1000,
      fps: 5,
      hideCursor: null,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(p) {
      const payload = { failed: p.failed, rate: p.elapsed > 0 ? Math.round(p.done / p.elapsed) : 0 };
      if (!started) {
        started = true;
        bar.start(p.total, p.done, payload);
      } else {
        bar.update(p.done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
