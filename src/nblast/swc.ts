/**
 * SWC text to a Skeleton. Seven whitespace-separated columns per node,
 * `PointNo Label X Y Z Radius Parent`; `#` starts a comment (whole line or the
 * rest of a line); blank lines are skipped. Rows may come in any order, ids may
 * be any integers, and a negative parent (usually -1) makes a root; several roots
 * are allowed. A negative parent that is also a node id is an error (ambiguous). Label and Radius are not used and not checked.
 *
 * Nodes keep file order, as R's read.neuron keeps it (that order decides the
 * order of resampled points).
 */
import { InputError } from "./errors.ts";
import { buildSkeleton } from "./skeleton-build.ts";
import type { Skeleton } from "./types.ts";

const COLUMNS = "PointNo Label X Y Z Radius Parent";
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const AXES = ["X", "Y", "Z"];

export function parseSwc(text: string, source: string): Skeleton {
  const lines = text.split("\n");
  const capacity = lines.length;
  const ids = new Float64Array(capacity);
  const parentIds = new Float64Array(capacity);
  const xyz = new Float64Array(3 * capacity);
  const lineOf = new Int32Array(capacity);
  let n = 0;
  // (row, parent id) of each root, checked against negative ids if there are any.
  const negativeParents: number[] = [];
  let anyNegativeId = false;

  for (let li = 0; li < lines.length; li++) {
    const lineNo = li + 1;
    let line = lines[li];
    const hash = line.indexOf("#");
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === "") continue;
    const tok = line.split(/\s+/);
    if (tok.length !== 7) {
      throw new InputError(`expected 7 columns (${COLUMNS}), found ${tok.length}`, { source, line: lineNo });
    }
    ids[n] = integerField(tok[0], "PointNo", source, lineNo);
    const parentId = integerField(tok[6], "Parent", source, lineNo);
    parentIds[n] = parentId < 0 ? NaN : parentId;
    for (let a = 0; a < 3; a++) {
      const v = decimal(tok[2 + a]);
      if (!Number.isFinite(v)) {
        throw new InputError(`${AXES[a]} coordinate '${tok[2 + a]}' is not a finite number`, { source, line: lineNo });
      }
      xyz[3 * n + a] = v;
    }
    lineOf[n] = lineNo;
    if (parentId < 0) negativeParents.push(n, parentId);
    if (ids[n] < 0) anyNegativeId = true;
    n++;
  }
  if (anyNegativeId) checkNegativeParents(negativeParents, ids.subarray(0, n), lineOf, source);

  return buildSkeleton(
    { ids: ids.slice(0, n), parentIds: parentIds.subarray(0, n), xyz: xyz.slice(0, 3 * n) },
    {
      fail(i, message): never {
        throw new InputError(message, { source, line: lineOf[i] });
      },
      ref: (i) => `line ${lineOf[i]}`,
      failEmpty(): never {
        throw new InputError("no nodes: the SWC file has no data lines", { source });
      },
    },
  );
}

/** A negative parent means "root"; it must not also be a node id, or the file is ambiguous. */
function checkNegativeParents(pairs: number[], ids: Float64Array, lineOf: Int32Array, source: string): void {
  const negativeIds = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) if (ids[i] < 0) negativeIds.set(ids[i], i);
  for (let k = 0; k < pairs.length; k += 2) {
    const row = negativeIds.get(pairs[k + 1]);
    if (row !== undefined) {
      throw new InputError(
        `parent ${pairs[k + 1]} is negative, which means "no parent", but it is also the id of the node on line ${lineOf[row]}`,
        { source, line: lineOf[pairs[k]] },
      );
    }
  }
}

function integerField(token: string, name: string, source: string, line: number): number {
  const v = decimal(token);
  if (!Number.isSafeInteger(v)) throw new InputError(`${name} '${token}' is not an integer`, { source, line });
  return v;
}

/** A plain decimal number, NaN for anything else (hex, "Inf", "NaN", "1,5", ...). */
function decimal(token: string): number {
  return DECIMAL.test(token) ? Number(token) : NaN;
}
