/**
 * Deterministic JSON for manifests: sections one key per line, arrays of objects one
 * element per line (a bin per line), everything else compact. Numbers print as
 * JSON.stringify does, the shortest text that reads back to the same double.
 */
export function formatJson(value: unknown): string {
  return format(value, "", 0) + "\n";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function format(v: unknown, indent: string, depth: number): string {
  const inner = indent + "  ";
  if (Array.isArray(v)) {
    if (v.length > 0 && v.some(isObject)) {
      return "[\n" + v.map((x) => inner + compact(x)).join(",\n") + "\n" + indent + "]";
    }
    return compact(v);
  }
  if (isObject(v) && depth < 2) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined);
    if (keys.length === 0) return "{}";
    return "{\n" + keys.map((k) => inner + JSON.stringify(k) + ": " + format(v[k], inner, depth + 1)).join(",\n") + "\n" + indent + "}";
  }
  return compact(v);
}

function compact(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) throw new TypeError("formatJson: value has no JSON form");
  return s;
}
