import type { BuildSummary } from "../cache/index.ts";
import { simplifyNote } from "../cache/index.ts";

/** At most this many lines per list on stderr; report.json has them all. */
const SHOWN = 10;

/** What `cache build` and `run` print about a build beyond its one summary line: skipped files, failures, warnings, simplify losses. */
export function buildReportLines(summary: BuildSummary, skipped: readonly { path: string; reason: string }[]): string[] {
  const out: string[] = [];
  const report = `${summary.uri}/report.json`;
  const list = <T>(items: readonly T[], head: string, line: (x: T) => string): void => {
    if (items.length === 0) return;
    out.push(head);
    for (const x of items.slice(0, SHOWN)) out.push(`  ${line(x)}`);
    if (items.length > SHOWN) out.push(`  ... and ${items.length - SHOWN} more`);
  };
  list(skipped, `${skipped.length} file(s) skipped, not neurons (listed in ${report}):`, (s) => `${s.path}: ${s.reason}`);
  list(summary.failed, `${summary.failed.length} neurons could not be read (listed in ${report}):`, (f) => `${f.path}: ${f.reason}`);
  list(summary.warned, `warning: ${summary.warned.length} neuron(s) cached but look wrong (listed in ${report}):`, (w) => `${w.path}: ${w.warnings.join("; ")}`);
  list(summary.simplified, `${summary.simplified.length} neuron(s) changed by --simplify beyond its branch points (listed in ${report}):`, (s) => `${s.path}: ${simplifyNote(s)}`);
  return out;
}
