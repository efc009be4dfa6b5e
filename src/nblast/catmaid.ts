/**
 * CATMAID's `skeletons/{id}/compact-detail` JSON to a Skeleton:
 * `[[nodes], [connectors], {tags}, ...]`, each node
 * `[id, parent_id, user_id, x, y, z, radius, confidence, ...]` with parent_id null
 * at the root. Only id, parent_id and x, y, z are used. Coordinates stay as given
 * (CATMAID's are nanometres; the caller scales). Nodes keep the order of the list.
 */
import { InputError } from "./errors.ts";
import { buildSkeleton } from "./skeleton-build.ts";
import type { Skeleton } from "./types.ts";

const SHAPE = "expected CATMAID compact-detail JSON: [[nodes], [connectors], {tags}, ...] with nodes [id, parent_id, user_id, x, y, z, radius, confidence]";
const AXES = ["x", "y", "z"];

export function parseCatmaidCompactDetail(text: string, source: string): Skeleton {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message}); ${SHAPE}`, { source });
  }
  if (!Array.isArray(doc) || !Array.isArray(doc[0])) throw new InputError(SHAPE, { source });
  const nodes = doc[0] as unknown[];
  const n = nodes.length;
  const ids = new Float64Array(n);
  const parentIds = new Float64Array(n);
  const xyz = new Float64Array(3 * n);

  const fail = (i: number, message: string): never => {
    throw new InputError(`node ${i}${Number.isFinite(ids[i]) ? ` (id ${ids[i]})` : ""}: ${message}`, { source });
  };

  for (let i = 0; i < n; i++) {
    ids[i] = NaN;
    const node = nodes[i];
    if (!Array.isArray(node) || node.length < 6) {
      fail(i, `expected an array [id, parent_id, user_id, x, y, z, ...], found ${brief(node)}`);
    }
    const row = node as unknown[];
    const id = row[0];
    if (!(typeof id === "number" && Number.isSafeInteger(id))) fail(i, `id (field 0) is ${brief(id)}, expected an integer`);
    ids[i] = id as number;
    const parentId = row[1];
    if (parentId === null) parentIds[i] = NaN;
    else if (typeof parentId === "number" && Number.isSafeInteger(parentId)) parentIds[i] = parentId;
    else fail(i, `parent_id (field 1) is ${brief(parentId)}, expected an integer or null`);
    for (let a = 0; a < 3; a++) {
      const v = row[3 + a];
      if (!(typeof v === "number" && Number.isFinite(v))) fail(i, `${AXES[a]} (field ${3 + a}) is ${brief(v)}, expected a number`);
      xyz[3 * i + a] = v as number;
    }
  }

  return buildSkeleton(
    { ids, parentIds, xyz },
    {
      fail,
      ref: (i) => `node ${i}`,
      failEmpty(): never {
        throw new InputError("no nodes: the skeleton's node list is empty", { source });
      },
    },
  );
}

function brief(v: unknown): string {
  if (v === undefined) return "missing";
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}
