/**
 * Temp files and scratch folders this process has made and not yet published or removed.
 * They are removed on every way out: normal exit and process.exit (the 'exit' event), and
 * SIGINT / SIGTERM when nothing else handles them (then the signal is raised again, so the
 * process still ends as the signal says). A command that stops gracefully on a signal
 * (interruptSignal) removes its own temp files on the way out. SIGKILL leaves them: a later
 * run removes them once their owner is gone (sweep.ts).
 */
import { rmSync, unlinkSync } from "node:fs";

const live = new Map<string, "file" | "dir">();
let installed = false;

export function trackTemp(path: string, kind: "file" | "dir" = "file"): void {
  live.set(path, kind);
  if (!installed) install();
}

export function untrackTemp(path: string): void {
  live.delete(path);
}

/** Removes every tracked path now (synchronously: it runs in 'exit' and signal handlers). */
export function removeTrackedTemps(): void {
  for (const [path, kind] of live) {
    try {
      if (kind === "dir") rmSync(path, { recursive: true, force: true });
      else unlinkSync(path);
    } catch {
      // gone already, or cannot be removed: a later run's sweep takes it
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Someone else handles this signal (a graceful stop): leave the process to them.
  if (process.listenerCount(signal) > 1) return;
  removeTrackedTemps();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  installed = false;
  process.kill(process.pid, signal);
}

function install(): void {
  installed = true;
  process.once("exit", removeTrackedTemps);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
