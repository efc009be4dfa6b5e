/**
 * Reading dotprops and point clouds from CSV text:
 * - R's export of a dotprops object (write.csv of as.data.frame):
 *   `"","points.X","points.Y","points.Z","alpha","vect.1","vect.2","vect.3"`;
 * - points only: `idx,X,Y,Z` or R's `"","X","Y","Z"`, quoted or not.
 * Columns are found by name (case-insensitive), so extra columns such as R's row
 * names are ignored. Every bad row is an InputError naming source, line and column.
 */
import { splitCsvLine } from "./csv-line.ts";
import { InputError } from "./errors.ts";
import type { Dotprops } from "./types.ts";

const DOTPROPS_COLUMNS = ["points.x", "points.y", "points.z", "alpha", "vect.1", "vect.2", "vect.3"] as const;
const DOTPROPS_LABELS = ["points.X", "points.Y", "points.Z", "alpha", "vect.1", "vect.2", "vect.3"];
const POINT_ALIASES = [
  ["x", "points.x"],
  ["y", "points.y"],
  ["z", "points.z"],
] as const;

// A decimal number as R, Python or a spreadsheet writes it (no hex, no "Inf", no "NA").
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * True if `line` is exactly R's dotprops header: points.X, points.Y, points.Z, alpha,
 * vect.1, vect.2, vect.3 in this order, after an optional row-name column ("" or idx).
 * Detection is strict so that a table that merely has such columns (metadata with X, Y, Z)
 * is never taken for a neuron; the parsers themselves find columns by name.
 */
export function isDotpropsCsvHeader(line: string): boolean {
  return sameNames(withoutRowNames(headerNames(line)), DOTPROPS_COLUMNS);
}

/** True if `line` is exactly a points header: X, Y, Z (or points.X, ...) after an optional row-name column ("" or idx). */
export function isPointsCsvHeader(line: string): boolean {
  const names = withoutRowNames(headerNames(line));
  return sameNames(names, ["x", "y", "z"]) || sameNames(names, ["points.x", "points.y", "points.z"]);
}

/** The header without its leading row-name column (R's "" or an idx column). */
function withoutRowNames(names: readonly string[]): readonly string[] {
  return names.length > 0 && (names[0] === "" || names[0] === "idx") ? names.slice(1) : names;
}

function sameNames(names: readonly string[], expected: readonly string[]): boolean {
  return names.length === expected.length && names.every((n, i) => n === expected[i]);
}

/** Parses R's dotprops CSV export. Points, tangents and alpha come back as Float64Arrays. */
export function parseDotpropsCsv(text: string, source: string): Dotprops {
  const { header, headerLine, rows } = splitLines(text, source, DOTPROPS_LABELS.join(", "));
  const names = headerNames(header);
  const cols = dotpropsColumns(names);
  if (cols === undefined) {
    const missing = DOTPROPS_COLUMNS.filter((c) => !names.includes(c)).map((c) => DOTPROPS_LABELS[DOTPROPS_COLUMNS.indexOf(c)]);
    throw new InputError(`not a dotprops CSV header: missing column(s) ${missing.join(", ")} (expected ${DOTPROPS_LABELS.join(", ")})`, {
      source,
      line: headerLine,
    });
  }
  requireRows(rows, source, headerLine);
  const n = rows.length;
  const points = new Float64Array(3 * n);
  const vect = new Float64Array(3 * n);
  const alpha = new Float64Array(n);
  const fields: string[] = [];
  for (let i = 0; i < n; i++) {
    const lineNo = rows[i].line;
    splitCsvLine(rows[i].text, fields);
    checkWidth(fields, names.length, source, lineNo);
    points[3 * i] = numberAt(fields, cols[0], DOTPROPS_LABELS[0], source, lineNo);
    points[3 * i + 1] = numberAt(fields, cols[1], DOTPROPS_LABELS[1], source, lineNo);
    points[3 * i + 2] = numberAt(fields, cols[2], DOTPROPS_LABELS[2], source, lineNo);
    alpha[i] = numberAt(fields, cols[3], DOTPROPS_LABELS[3], source, lineNo);
    vect[3 * i] = numberAt(fields, cols[4], DOTPROPS_LABELS[4], source, lineNo);
    vect[3 * i + 1] = numberAt(fields, cols[5], DOTPROPS_LABELS[5], source, lineNo);
    vect[3 * i + 2] = numberAt(fields, cols[6], DOTPROPS_LABELS[6], source, lineNo);
  }
  return { points, vect, alpha };
}

/** Parses a points-only CSV into 3n interleaved coordinates. */
export function parsePointsCsv(text: string, source: string): Float64Array {
  const { header, headerLine, rows } = splitLines(text, source, "X, Y, Z");
  const names = headerNames(header);
  const cols = pointColumns(names);
  if (cols === undefined) {
    throw new InputError(`not a points CSV header: expected columns X, Y, Z (got ${JSON.stringify(header.trim())})`, {
      source,
      line: headerLine,
    });
  }
  requireRows(rows, source, headerLine);
  const n = rows.length;
  const points = new Float64Array(3 * n);
  const fields: string[] = [];
  for (let i = 0; i < n; i++) {
    const lineNo = rows[i].line;
    splitCsvLine(rows[i].text, fields);
    checkWidth(fields, names.length, source, lineNo);
    points[3 * i] = numberAt(fields, cols[0], "X", source, lineNo);
    points[3 * i + 1] = numberAt(fields, cols[1], "Y", source, lineNo);
    points[3 * i + 2] = numberAt(fields, cols[2], "Z", source, lineNo);
  }
  return points;
}

interface Row {
  readonly line: number;
  readonly text: string;
}

function splitLines(text: string, source: string, expected: string): { header: string; headerLine: number; rows: Row[] } {
  const lines = text.split(/\r?\n|\r/);
  if (lines.length > 0 && lines[0].charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  let headerLine = -1;
  const rows: Row[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    if (headerLine < 0) headerLine = i;
    else rows.push({ line: i + 1, text: lines[i] });
  }
  if (headerLine < 0) throw new InputError(`empty file: expected a CSV header naming ${expected}`, { source });
  return { header: lines[headerLine], headerLine: headerLine + 1, rows };
}

function requireRows(rows: readonly Row[], source: string, headerLine: number): void {
  if (rows.length === 0) throw new InputError("no data rows after the header", { source, line: headerLine });
}

function headerNames(line: string): string[] {
  const fields: string[] = [];
  splitCsvLine(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, fields);
  return fields.map((f) => f.trim().toLowerCase());
}

function dotpropsColumns(names: readonly string[]): number[] | undefined {
  const cols = DOTPROPS_COLUMNS.map((c) => names.indexOf(c));
  return cols.every((c) => c >= 0) ? cols : undefined;
}

function pointColumns(names: readonly string[]): number[] | undefined {
  const cols = POINT_ALIASES.map((aliases) => {
    for (const a of aliases) {
      const i = names.indexOf(a);
      if (i >= 0) return i;
    }
    return -1;
  });
  return cols.every((c) => c >= 0) ? cols : undefined;
}

function checkWidth(fields: readonly string[], width: number, source: string, line: number): void {
  if (fields.length !== width) {
    throw new InputError(`expected ${width} columns as in the header, found ${fields.length}`, { source, line });
  }
}

function numberAt(fields: readonly string[], col: number, name: string, source: string, line: number): number {
  const raw = fields[col].trim();
  if (raw === "") throw new InputError(`column ${name}: empty value`, { source, line });
  if (!NUMBER.test(raw)) throw new InputError(`column ${name}: ${JSON.stringify(raw)} is not a number`, { source, line });
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new InputError(`column ${name}: ${JSON.stringify(raw)} is not finite`, { source, line });
  return v;
}
