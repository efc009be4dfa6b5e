/**
 * Id list files for --query-ids / --target-ids: one integer id (0 to 2^63 - 1) per line;
 * '#' starts a comment (whole line or after the id); blank lines are skipped.
 */
import { readFile } from "node:fs/promises";
import { idProblem, tryParseId } from "../ids/index.ts";
import { InputError } from "../nblast/errors.ts";

/** Anything that can say whether an id exists (a Set of ids, a Map keyed by id, a cache). */
export interface IdLookup {
  has(id: bigint): boolean;
}

/**
 * The ids listed in `text`, in file order (duplicates kept). `source` names the file in
 * errors; an id that is not an integer or not `known` is an InputError naming its line.
 */
export function parseIdList(text: string, source: string, known: IdLookup): bigint[] {
  const ids: bigint[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const hash = lines[i].indexOf("#");
    const field = (hash < 0 ? lines[i] : lines[i].slice(0, hash)).trim();
    if (field === "") continue;
    const where = { source, line: i + 1 };
    const id = tryParseId(field);
    if (id === undefined) throw new InputError(`expected one integer id per line: "${clip(field)}" ${idProblem(field)}`, where);
    if (!known.has(id)) throw new InputError(`id ${id} is not in the cache`, where);
    ids.push(id);
  }
  if (ids.length === 0) throw new InputError("no ids in the file", { source });
  return ids;
}

/** Reads and parses an id file (see parseIdList). */
export async function readIdFile(path: string, known: IdLookup): Promise<bigint[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === "ENOENT" ? "no such file" : `cannot read the file (${code ?? String(err)})`, {
      source: path,
    });
  }
  return parseIdList(text, path, known);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
