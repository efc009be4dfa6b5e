/**
 * Which neurons a command works on: files, folders, globs and `id,path` lists
 * resolved to a sorted list of NeuronSource, each with a unique id and name.
 *
 * - A file: `.swc` (SWC), `.json` (CATMAID compact-detail), `.csv` (R dotprops
 *   export or points, told apart by the header; a CSV whose header is `id,path`
 *   is a list of inputs, each path relative to the list's folder).
 * - A folder: its .swc, .json and .csv files, not descending into subfolders unless
 *   `recursive` is set. CSVs that are neither dotprops nor points (metadata, id
 *   lists) are skipped and reported through onSkip.
 * - A glob (tinyglobby syntax, e.g. `data/**\/*.swc`): matching files, treated as
 *   folder entries. A spec that exists as a path is never read as a glob.
 *
 * Names are file names without extension. Ids are integers from 0 to 2^63 - 1 (bigint,
 * never a double: FlyWire root ids pass 2^53). In this order of precedence: the id
 * given by an `id,path` list entry; the file name when it is an integer id (e.g.
 * CATMAID skeleton ids, `12345.json`); the `idList` file (`id,name` or `id,path`);
 * a file name that is an integer above 2^63 - 1 and not in the id list is an error;
 * otherwise assigned: the remaining neurons, sorted by name then path, are numbered
 * from one more than the largest id given by the rules before (from 1 if none; with the
 * lowest free ids from 1 when that would pass 2^63 - 1), so
 * assigned ids change when the set of inputs does; use an id list for stable ids.
 * The same file reached twice counts once. Two neurons with one id or one name
 * are an InputError. The result is sorted by id.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { splitCsvLine } from "../nblast/csv-line.ts";
import { MAX_ID, parseId, tryParseId } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";
import { NEURON_EXTENSIONS, csvKindOfHeader, extensionOf, firstLine, headerNames } from "./kind.ts";
import type { NeuronKind } from "./kind.ts";

export interface NeuronSource {
  /** 0 to 2^63 - 1, exact. */
  id: bigint;
  name: string;
  /** Where to read it, as given or relative to the current folder. */
  path: string;
  kind: NeuronKind;
}

export interface CollectOptions {
  /** CSV with header `id,name` or `id,path` giving ids to neurons whose file name is not an integer. */
  idList?: string;
  /** Descend into subfolders of folder specs (default false). */
  recursive?: boolean;
  /** Told about files in folders and globs that are not neurons. */
  onSkip?: (path: string, reason: string) => void;
}

interface Found {
  path: string;
  kind: NeuronKind;
  /** From an `id,path` list entry. */
  listedId?: bigint;
  /** From an `id,path,name` list entry. */
  listedName?: string;
}

const INTEGER = /^\d+$/;

export async function collectInputs(specs: string[], opts: CollectOptions = {}): Promise<NeuronSource[]> {
  const found: Found[] = [];
  for (const spec of specs) await expandSpec(spec, opts, found);

  // The same file reached twice counts once.
  const seen = new Map<string, Found>();
  for (const f of found) {
    const key = resolve(f.path);
    const prev = seen.get(key);
    if (prev === undefined) seen.set(key, f);
    else if (f.listedId !== undefined && prev.listedId !== undefined && f.listedId !== prev.listedId) {
      throw new InputError(`${f.path} is listed with two ids, ${prev.listedId} and ${f.listedId}`);
    } else if (prev.listedId === undefined && f.listedId !== undefined) seen.set(key, f);
  }
  const unique = [...seen.values()];

  const ids = opts.idList === undefined ? undefined : await readIdList(opts.idList);
  const sources: NeuronSource[] = [];
  const unassigned: { f: Found; name: string }[] = [];
  let maxId = 0n;
  for (const f of unique) {
    const name = f.listedName ?? stem(f.path);
    const id = f.listedId ?? tryParseId(name) ?? ids?.byPath.get(resolve(f.path)) ?? ids?.byName.get(name);
    if (id === undefined) {
      if (INTEGER.test(name)) {
        throw new InputError(
          `the file name ${name} is a number above the largest id, 2^63 - 1 = ${MAX_ID}; give the neuron an id with --id-list or an id,path list`,
          { source: f.path },
        );
      }
      unassigned.push({ f, name });
    } else {
      sources.push({ id, name, path: f.path, kind: f.kind });
      if (id > maxId) maxId = id;
    }
  }
  unassigned.sort((a, b) => compare(a.name, b.name) || compare(a.f.path, b.f.path));
  if (MAX_ID - maxId >= BigInt(unassigned.length)) {
    for (const { f, name } of unassigned) sources.push({ id: ++maxId, name, path: f.path, kind: f.kind });
  } else {
    // No room above the largest id (it is near 2^63 - 1): the lowest free ids from 1 instead.
    const used = new Set(sources.map((s) => s.id));
    let next = 1n;
    for (const { f, name } of unassigned) {
      while (used.has(next)) next++;
      sources.push({ id: next++, name, path: f.path, kind: f.kind });
    }
  }

  sources.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : compare(a.path, b.path)));
  checkUnique(sources);
  return sources;
}

async function expandSpec(spec: string, opts: CollectOptions, out: Found[]): Promise<void> {
  const st = await stat(spec).catch(() => undefined);
  if (st?.isFile()) return addFile(spec, out);
  if (st?.isDirectory()) {
    const before = out.length;
    await addFolder(spec, opts, out);
    if (out.length === before) throw new InputError(`folder ${spec} has no neuron files (${NEURON_EXTENSIONS.join(", ")})`);
    return;
  }
  if (isDynamicPattern(spec)) {
    const matches = await glob(spec, { onlyFiles: true, expandDirectories: false });
    matches.sort(compare);
    const before = out.length;
    for (const m of matches) await addEntry(m, opts, out);
    if (out.length === before) throw new InputError(`no neuron files (${NEURON_EXTENSIONS.join(", ")}) match ${spec}`);
    return;
  }
  throw new InputError(`no such file or folder: ${spec}`);
}

type FileKind = NeuronKind | "id-list" | "other-csv" | "unsupported";

async function classify(path: string): Promise<FileKind> {
  const ext = extensionOf(path);
  if (ext === ".swc") return "swc";
  if (ext === ".json") return "catmaid-json";
  if (ext !== ".csv") return "unsupported";
  const kind = csvKindOfHeader(await firstLine(path));
  return kind === "other" ? "other-csv" : kind;
}

const isNeuronKind = (k: FileKind): k is NeuronKind => k === "swc" || k === "catmaid-json" || k === "dotprops-csv" || k === "points-csv";

/** A file named on the command line: a neuron or a list of inputs, anything else is an error. */
async function addFile(path: string, out: Found[]): Promise<void> {
  const kind = await classify(path);
  if (isNeuronKind(kind)) out.push({ path, kind });
  else if (kind === "id-list") await addList(path, out);
  else if (kind === "other-csv") {
    const header = await firstLine(path);
    throw new InputError(
      `not a neuron CSV: header ${JSON.stringify(header.slice(0, 80))} is neither R's dotprops export ("",points.X,points.Y,points.Z,alpha,vect.1,vect.2,vect.3), points (X,Y,Z) nor a list of inputs (id,path)`,
      { source: path, line: 1 },
    );
  } else {
    const ext = extensionOf(path);
    throw new InputError(`unsupported file type ${ext === "" ? "(no extension)" : ext}: expected ${NEURON_EXTENSIONS.join(", ")}`, { source: path });
  }
}

/** A file found in a folder or by a glob: files that are not neurons are skipped. */
async function addEntry(path: string, opts: CollectOptions, out: Found[]): Promise<void> {
  const kind = await classify(path);
  if (isNeuronKind(kind)) out.push({ path, kind });
  else if (kind === "id-list") opts.onSkip?.(path, "a list of ids (name it on its own to use it)");
  else if (kind === "other-csv") opts.onSkip?.(path, "a CSV that is neither dotprops nor points");
}

async function addFolder(folder: string, opts: CollectOptions, out: Found[]): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => compare(a.name, b.name));
  for (const e of entries) {
    const path = join(folder, e.name);
    if (e.isDirectory()) {
      if (opts.recursive) await addFolder(path, opts, out);
    } else if (e.isFile() || (e.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())) {
      await addEntry(path, opts, out);
    }
  }
}

/** An `id,path[,name]` list of inputs. */
async function addList(listPath: string, out: Found[]): Promise<void> {
  const rows = await readCsvRows(listPath);
  const cols = rows.header;
  const idCol = cols.indexOf("id"), pathCol = cols.indexOf("path"), nameCol = cols.indexOf("name");
  if (pathCol < 0) throw new InputError("a list of inputs needs a path column (header id,path)", { source: listPath, line: 1 });
  for (const { line, fields } of rows.rows) {
    const id = listId(fields[idCol], listPath, line);
    const raw = (fields[pathCol] ?? "").trim();
    if (raw === "") throw new InputError("empty path", { source: listPath, line });
    const path = isAbsolute(raw) ? raw : join(dirname(listPath), raw);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new InputError(`no such file: ${path}`, { source: listPath, line });
    const kind = await classify(path);
    if (!isNeuronKind(kind)) throw new InputError(`${path} is not a neuron file (${NEURON_EXTENSIONS.join(", ")}; CSV: dotprops or points)`, { source: listPath, line });
    const name = nameCol >= 0 ? (fields[nameCol] ?? "").trim() : "";
    out.push(name === "" ? { path, kind, listedId: id } : { path, kind, listedId: id, listedName: name });
  }
}

interface IdList {
  byName: Map<string, bigint>;
  byPath: Map<string, bigint>;
}

async function readIdList(path: string): Promise<IdList> {
  const rows = await readCsvRows(path);
  const idCol = rows.header.indexOf("id");
  const keyCol = rows.header.indexOf("name") >= 0 ? rows.header.indexOf("name") : rows.header.indexOf("path");
  if (idCol !== 0 || keyCol < 0) throw new InputError("an id list needs the header id,name or id,path", { source: path, line: 1 });
  const byPath = rows.header[keyCol] === "path";
  const ids: IdList = { byName: new Map(), byPath: new Map() };
  const map = byPath ? ids.byPath : ids.byName;
  const lineOf = new Map<string, number>();
  for (const { line, fields } of rows.rows) {
    const id = listId(fields[idCol], path, line);
    let key = (fields[keyCol] ?? "").trim();
    if (key === "") throw new InputError(`empty ${rows.header[keyCol]}`, { source: path, line });
    if (byPath) key = resolve(dirname(path), key);
    const earlier = lineOf.get(key);
    if (earlier !== undefined) throw new InputError(`${fields[keyCol].trim()} is listed twice (first on line ${earlier})`, { source: path, line });
    lineOf.set(key, line);
    map.set(key, id);
  }
  return ids;
}

async function readCsvRows(path: string): Promise<{ header: string[]; rows: { line: number; fields: string[] }[] }> {
  const text = await readFile(path, "utf8").catch((err: NodeJS.ErrnoException) => {
    throw new InputError(`cannot read: ${err.code ?? err.message}`, { source: path });
  });
  const lines = text.split(/\r?\n|\r/);
  let header: string[] | undefined;
  const rows: { line: number; fields: string[] }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    if (header === undefined) {
      header = headerNames(lines[i]);
      continue;
    }
    const fields: string[] = [];
    splitCsvLine(lines[i], fields);
    rows.push({ line: i + 1, fields });
  }
  if (header === undefined) throw new InputError("empty file", { source: path });
  return { header, rows };
}

function listId(raw: string | undefined, source: string, line: number): bigint {
  return parseId((raw ?? "").trim(), { source, line, field: "column id" });
}

function stem(path: string): string {
  const b = basename(path);
  const ext = extensionOf(b);
  return ext === "" ? b : b.slice(0, -ext.length);
}

function checkUnique(sources: NeuronSource[]): void {
  for (let i = 1; i < sources.length; i++) {
    if (sources[i].id === sources[i - 1].id) {
      throw new InputError(`two neurons have id ${sources[i].id}: ${sources[i - 1].path} and ${sources[i].path}`);
    }
  }
  const byName = new Map<string, string>();
  for (const s of sources) {
    const other = byName.get(s.name);
    if (other !== undefined) throw new InputError(`two neurons are named ${s.name}: ${other} and ${s.path}`);
    byName.set(s.name, s.path);
  }
}

/** Code-unit order, independent of locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
