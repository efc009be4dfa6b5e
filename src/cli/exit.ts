/** Ends a command with this exit status; the message (if any) is printed alone, without a stack. */
export class CliExit extends Error {
  override readonly name = "CliExit";
  readonly code: number;
  constructor(code: number, message = "") {
    super(message);
    this.code = code;
  }
}

/** An AbortSignal that fires on the first Ctrl-C (SIGINT) or SIGTERM; a second one exits at once. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\nstopping: finishing nothing half-way (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
