/**
 * An error in what the user handed us (a file, a line, a field), as opposed to a bug.
 * The CLI prints `message` alone, without a stack trace, and exits with status 2.
 * Every layer throws this for bad input; the message must name where and what.
 */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly source: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, where: { source?: string; line?: number } = {}) {
    super(formatWhere(where) + message);
    this.source = where.source;
    this.line = where.line;
  }
}

function formatWhere({ source, line }: { source?: string; line?: number }): string {
  if (source === undefined) return "";
  return line === undefined ? `${source}: ` : `${source}:${line}: `;
}
