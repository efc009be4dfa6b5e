/**
 * NBLAST scoring matrices: a log-odds value per (distance bin, |dot| bin).
 *
 * Look-up is R's `findInterval(x, breaks, all.inside = TRUE)`: bins are
 * left-closed [b_k, b_k+1), values below the first break go to the first bin,
 * values at or above the last break to the last one. The `(a,b]` labels of R's
 * CSV export describe how the matrix was trained, not how it is used.
 */
import { splitCsvLine } from "./csv-line.ts";
import { InputError } from "./errors.ts";
import { ALPHA_FCWB_DATA, FCWB_DATA } from "./smat-data.ts";

export interface ScoreMatrix {
  name: string;
  /** Distance breaks, strictly increasing; rows = distBreaks.length - 1. */
  distBreaks: Float64Array;
  /** |dot| breaks, strictly increasing; columns = dotBreaks.length - 1. */
  dotBreaks: Float64Array;
  /** Row-major values, rows = distance bins. */
  values: Float64Array;
}

function fromData(d: { name: string; distBreaks: number[]; dotBreaks: number[]; values: number[] }): ScoreMatrix {
  return Object.freeze({
    name: d.name,
    distBreaks: Float64Array.from(d.distBreaks),
    dotBreaks: Float64Array.from(d.dotBreaks),
    values: Float64Array.from(d.values),
  });
}

/** nat.nblast's smat.fcwb (FlyCircuit neurons in FCWB space, microns, resample 1). */
export const SMAT_FCWB: ScoreMatrix = fromData(FCWB_DATA);
/** nat.nblast's smat_alpha.fcwb, R's default when UseAlpha = TRUE. */
export const SMAT_ALPHA_FCWB: ScoreMatrix = fromData(ALPHA_FCWB_DATA);

/** Checks shape and breaks; throws InputError naming `source`. */
export function validateSmat(m: ScoreMatrix, source: string): ScoreMatrix {
  checkBreaks(m.distBreaks, "distance", source);
  checkBreaks(m.dotBreaks, "dot product", source);
  const expected = (m.distBreaks.length - 1) * (m.dotBreaks.length - 1);
  if (m.values.length !== expected) {
    throw new InputError(
      `score matrix has ${m.values.length} values, expected ${m.distBreaks.length - 1} x ${m.dotBreaks.length - 1} = ${expected}`,
      { source },
    );
  }
  for (let i = 0; i < m.values.length; i++) {
    if (!Number.isFinite(m.values[i])) throw new InputError(`score matrix value ${i + 1} is not finite`, { source });
  }
  return m;
}

function checkBreaks(b: Float64Array, what: string, source: string): void {
  if (b.length < 2) throw new InputError(`score matrix needs at least 2 ${what} breaks, got ${b.length}`, { source });
  for (let i = 0; i < b.length; i++) {
    if (!Number.isFinite(b[i])) throw new InputError(`${what} break ${i + 1} is not finite`, { source });
    if (i > 0 && !(b[i] > b[i - 1])) {
      throw new InputError(`${what} breaks must increase strictly: ${b[i - 1]} then ${b[i]}`, { source });
    }
  }
}

/** R's findInterval(x, breaks, all.inside = TRUE) - 1, by binary search (the reference for BinLookup). */
export function findBin(x: number, breaks: Float64Array): number {
  const last = breaks.length - 2;
  if (!(x >= breaks[1])) return 0;
  if (x >= breaks[last]) return last;
  // Invariant: breaks[lo] <= x < breaks[hi].
  let lo = 1;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x >= breaks[mid]) lo = mid;
    else hi = mid;
  }
  return lo;
}

// Cells per break interval, and the most cells a table may have before we fall back to search.
const CELLS_PER_GAP = 2;
const MAX_TABLE = 1 << 16;

/**
 * Exact constant-time findBin: a table over equal cells no wider than half the
 * narrowest inner bin gives a guess that is right or one off, and comparisons
 * with the real breaks settle it, so the answer never depends on rounding in
 * the cell index.
 */
export class BinLookup {
  readonly breaks: Float64Array;
  /** Index of the last bin. */
  readonly last: number;
  private readonly lower: number;
  private readonly upper: number;
  private readonly invCell: number;
  private readonly table: Int32Array | undefined;

  constructor(breaks: Float64Array) {
    this.breaks = breaks;
    this.last = breaks.length - 2;
    // Below breaks[1] is bin 0, from breaks[last] on the last bin: only [breaks[1], breaks[last]) needs the table.
    this.lower = breaks[1];
    this.upper = breaks[this.last];
    let minGap = Infinity;
    for (let i = 2; i <= this.last; i++) minGap = Math.min(minGap, breaks[i] - breaks[i - 1]);
    const span = this.upper - this.lower;
    const cell = minGap / CELLS_PER_GAP;
    const size = span > 0 ? Math.ceil(span / cell) + 2 : 0;
    if (size > 0 && size <= MAX_TABLE && Number.isFinite(cell) && cell > 0) {
      this.invCell = 1 / cell;
      const table = new Int32Array(size);
      for (let c = 0; c < size; c++) {
        table[c] = findBin(this.lower + c * cell, breaks);
      }
      this.table = table;
    } else {
      this.invCell = 0;
      this.table = undefined;
    }
  }

  /** findInterval(x, breaks, all.inside = TRUE) - 1; NaN gives bin 0. */
  bin(x: number): number {
    if (!(x >= this.lower)) return 0;
    if (x >= this.upper) return this.last;
    const table = this.table;
    if (table === undefined) return findBin(x, this.breaks);
    const breaks = this.breaks;
    let b = table[((x - this.lower) * this.invCell) | 0];
    // The table only gives a starting guess (usually right): the breaks decide.
    while (x >= breaks[b + 1]) b++;
    while (x < breaks[b]) b--;
    return b;
  }
}

/** The ScoreMatrix in the JSON layout of the reference files; parseSmatJson reads it back bit for bit. */
export function smatToJson(m: ScoreMatrix): string {
  const ncol = m.dotBreaks.length - 1;
  const rows: number[][] = [];
  for (let r = 0; r < m.distBreaks.length - 1; r++) rows.push(Array.from(m.values.subarray(r * ncol, (r + 1) * ncol)));
  // JSON.stringify writes the shortest decimal that reads back to the same double.
  return JSON.stringify({
    name: m.name,
    layout: "values[i][j]: i = distance bin (row), j = |dot| bin (column); row-major",
    binning_in_R: "findInterval(x, breaks, all.inside=TRUE)",
    distbreaks: Array.from(m.distBreaks),
    dotprodbreaks: Array.from(m.dotBreaks),
    values: rows,
  });
}

/** Reads the JSON layout of /work/shared/reference/smat/*.json (and smatToJson's output). */
export function parseSmatJson(text: string, source: string): ScoreMatrix {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(`not valid JSON: ${(e as Error).message}`, { source });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new InputError("expected a JSON object with distbreaks, dotprodbreaks and values", { source });
  }
  const o = doc as Record<string, unknown>;
  const distBreaks = numberArray(o.distbreaks, "distbreaks", source);
  const dotBreaks = numberArray(o.dotprodbreaks, "dotprodbreaks", source);
  if (!Array.isArray(o.values)) throw new InputError("'values' must be an array of rows", { source });
  const nrow = distBreaks.length - 1;
  const ncol = dotBreaks.length - 1;
  if (o.values.length !== nrow) {
    throw new InputError(`'values' has ${o.values.length} rows, expected ${nrow} (one per distance bin)`, { source });
  }
  const values = new Float64Array(Math.max(0, nrow * ncol));
  o.values.forEach((row: unknown, r: number) => {
    const v = numberArray(row, `values[${r}]`, source);
    if (v.length !== ncol) throw new InputError(`values[${r}] has ${v.length} entries, expected ${ncol} (one per |dot| bin)`, { source });
    values.set(v, r * ncol);
  });
  const name = typeof o.name === "string" && o.name !== "" ? o.name : baseName(source);
  return validateSmat({ name, distBreaks, dotBreaks, values }, source);
}

function numberArray(v: unknown, field: string, source: string): Float64Array {
  if (!Array.isArray(v)) throw new InputError(`'${field}' must be an array of numbers`, { source });
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      throw new InputError(`'${field}'[${i}] is ${JSON.stringify(x)}, not a finite number`, { source });
    }
    out[i] = x;
  }
  return out;
}

// "(a,b]" (R's cut labels), also "[a,b)"; a and b as R prints numbers.
const LABEL = /^\s*[([]\s*([^,\s]+)\s*,\s*([^\])\s]+)\s*[\])]\s*$/;

/**
 * Reads R's write.csv of a score matrix: a header of |dot| bin labels, then one
 * row per distance bin starting with its label. Breaks come from the labels:
 * the lower end of the first, then every upper end (so 15 significant digits,
 * e.g. 0.3 where R's own matrix has 0.30000000000000004).
 */
export function parseSmatCsv(text: string, source: string): ScoreMatrix {
  const lines = text.split(/\r?\n|\r/);
  if (lines.length > 0 && lines[0].charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const fields: string[] = [];
    splitCsvLine(lines[i], fields);
    rows.push({ line: i + 1, fields });
  }
  if (rows.length === 0) throw new InputError("empty file: expected a score matrix CSV", { source });
  const header = rows[0];
  if (header.fields.length < 2) {
    throw new InputError("header must hold a corner cell and at least one |dot| bin label such as \"(0,0.1]\"", {
      source,
      line: header.line,
    });
  }
  const dotBreaks = breaksFromLabels(header.fields.slice(1), "|dot| bin", source, header.line);
  if (rows.length < 2) throw new InputError("no distance rows after the header", { source, line: header.line });
  const ncol = dotBreaks.length - 1;
  const rowLabels: string[] = [];
  const values = new Float64Array((rows.length - 1) * ncol);
  for (let r = 1; r < rows.length; r++) {
    const { line, fields } = rows[r];
    if (fields.length !== ncol + 1) {
      throw new InputError(`expected ${ncol + 1} columns (a label and ${ncol} values), found ${fields.length}`, { source, line });
    }
    rowLabels.push(fields[0]);
    for (let c = 0; c < ncol; c++) {
      const raw = fields[c + 1].trim();
      const v = raw === "" ? NaN : Number(raw);
      if (!Number.isFinite(v)) {
        throw new InputError(`column ${c + 2} (${header.fields[c + 1]}): ${JSON.stringify(raw)} is not a finite number`, {
          source,
          line,
        });
      }
      values[(r - 1) * ncol + c] = v;
    }
  }
  const distBreaks = breaksFromRowLabels(rowLabels, rows, source);
  return validateSmat({ name: baseName(source), distBreaks, dotBreaks, values }, source);
}

function breaksFromRowLabels(labels: string[], rows: { line: number }[], source: string): Float64Array {
  const out = new Float64Array(labels.length + 1);
  for (let i = 0; i < labels.length; i++) {
    const [a, b] = parseLabel(labels[i], "distance bin", source, rows[i + 1].line);
    if (i === 0) out[0] = a;
    else if (a !== out[i]) {
      throw new InputError(`distance bin ${JSON.stringify(labels[i])} does not start where the previous one ends (${out[i]})`, {
        source,
        line: rows[i + 1].line,
      });
    }
    out[i + 1] = b;
  }
  return out;
}

function breaksFromLabels(labels: string[], what: string, source: string, line: number): Float64Array {
  const out = new Float64Array(labels.length + 1);
  for (let i = 0; i < labels.length; i++) {
    const [a, b] = parseLabel(labels[i], what, source, line);
    if (i === 0) out[0] = a;
    else if (a !== out[i]) {
      throw new InputError(`${what} ${JSON.stringify(labels[i])} does not start where the previous one ends (${out[i]})`, {
        source,
        line,
      });
    }
    out[i + 1] = b;
  }
  return out;
}

function parseLabel(label: string, what: string, source: string, line: number): [number, number] {
  const m = LABEL.exec(label);
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(a) || !Number.isFinite(b)) {
    throw new InputError(`${what} label ${JSON.stringify(label)} is not an interval such as "(0,0.1]"`, { source, line });
  }
  return [a, b];
}

function baseName(source: string): string {
  const slash = Math.max(source.lastIndexOf("/"), source.lastIndexOf("\\"));
  const file = source.slice(slash + 1);
  const dot = file.lastIndexOf(".");
  return dot > 0 ? file.slice(0, dot) : file;
}
