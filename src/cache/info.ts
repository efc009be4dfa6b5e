import { DATA_KEY, FORMAT_VERSION, INDEX_KEY, REPORT_KEY, formatParams } from "./format.ts";
import type { Summary } from "./format.ts";
import type { CacheReader } from "./reader.ts";

/** What `cache info URI` prints: everything cache.json and the index know, no data read. */
export function cacheInfo(reader: CacheReader): string {
  const m = reader.manifest;
  const dataBytes = m.files[DATA_KEY].bytes;
  const indexBytes = m.files[INDEX_KEY].bytes;
  const lines = [
    `cache      ${reader.uri}`,
    `format     ${m.format} version ${m.version}${m.version === FORMAT_VERSION ? "" : " (not this program's)"}`,
    `params     ${formatParams(reader.params)}`,
    `precision  ${m.precision}`,
    `neurons    ${count(m.neurons)}`,
    `points     ${count(m.totalPoints)} in all`,
    `  per neuron  ${summary(m.stats.points, (x) => count(x))}`,
    `cable (um) ${summary(m.stats.cable, (x) => x.toFixed(1))}`,
    `bytes      ${bytes(dataBytes + indexBytes)} (${DATA_KEY} ${bytes(dataBytes)}, ${INDEX_KEY} ${bytes(indexBytes)})`,
    `sha256     ${m.sha256}`,
    `checksums  ${m.checksums} per neuron, verified on every read`,
    `failed     ${m.failed.count === 0 ? "none" : `${count(m.failed.count)} neuron(s) could not be read, all listed in ${REPORT_KEY}`}`,
  ];
  for (const f of m.failed.first) lines.push(`  ${f.name}: ${f.reason}`);
  if (m.failed.count > m.failed.first.length) lines.push(`  ... and ${count(m.failed.count - m.failed.first.length)} more`);
  if (m.warned !== undefined) {
    lines.push(`warnings   ${m.warned.count === 0 ? "none" : `${count(m.warned.count)} neuron(s) cached with warnings, all listed in ${REPORT_KEY}`}`);
    for (const w of m.warned.first) lines.push(`  ${w.name}: ${w.warning}`);
    if (m.warned.count > m.warned.first.length) lines.push(`  ... and ${count(m.warned.count - m.warned.first.length)} more`);
  }
  if (m.simplified !== undefined && m.simplified.count > 0) {
    lines.push(`simplify   ${count(m.simplified.count)} neuron(s) lost fragments or stopped early, all listed in ${REPORT_KEY}`);
    for (const s of m.simplified.first) lines.push(`  ${s.name}: ${simplifyNote(s)}`);
    if (m.simplified.count > m.simplified.first.length) lines.push(`  ... and ${count(m.simplified.count - m.simplified.first.length)} more`);
  }
  return lines.join("\n") + "\n";
}

/** "2 trees dropped; stopped early: ..." */
export function simplifyNote(s: { droppedTrees: number; stoppedEarly: string | null }): string {
  const parts: string[] = [];
  if (s.droppedTrees > 0) parts.push(`${s.droppedTrees} fragment(s) (whole trees) dropped by --simplify`);
  if (s.stoppedEarly !== null) parts.push(`simplify stopped early: ${s.stoppedEarly}`);
  return parts.join("; ");
}

function summary(s: Summary, fmt: (x: number) => string): string {
  return `min ${fmt(s.min)}  median ${fmt(s.median)}  mean ${s.mean.toFixed(1)}  max ${fmt(s.max)}`;
}

function count(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString("en-US") : n.toFixed(1);
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
