/**
 * Key rules shared by every backend, so a key that works on a local folder also works
 * on S3 and the other way round: '/'-separated, relative, no empty, "." or ".." segment
 * (which would escape the root on disk), no backslash or NUL, and no segment that looks
 * like one of our temp files (list() hides those).
 */
import { InputError } from "../nblast/errors.ts";
import { isTempName } from "./atomic-file.ts";

/** Throws InputError naming `where` (the storage URI) when `key` breaks the rules above. */
export function checkKey(key: string, where: string, what = "key"): void {
  const problem = keyProblem(key);
  if (problem !== undefined) {
    throw new InputError(`storage ${what} ${JSON.stringify(key)} is invalid: ${problem}`, { source: where });
  }
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== "string" || key.length === 0) return "it is empty";
  if (key.includes("\\")) return "it contains a backslash (use '/')";
  if (key.includes("\0")) return "it contains a NUL character";
  if (key.startsWith("/")) return "it starts with '/' (keys are relative)";
  for (const segment of key.split("/")) {
    if (segment === "") return "it has an empty path segment ('//' or a trailing '/')";
    if (segment === "." || segment === "..") return `it has a '${segment}' segment`;
    if (isTempName(segment)) return "it is named like a temporary file";
  }
  return undefined;
}

/**
 * A list() prefix is any string that could begin a key ("shards/bin=" is fine): everything
 * before its last '/' must be a valid key; the part after it is free text.
 */
export function checkPrefix(prefix: string, where: string): void {
  if (prefix === "") return;
  const slash = prefix.lastIndexOf("/");
  const tail = prefix.slice(slash + 1);
  let problem: string | undefined;
  if (prefix.includes("\\")) problem = "it contains a backslash (use '/')";
  else if (prefix.includes("\0")) problem = "it contains a NUL character";
  else if (prefix.startsWith("/")) problem = "it starts with '/' (keys are relative)";
  else if (slash > 0) problem = keyProblem(prefix.slice(0, slash));
  if (problem === undefined && (tail === "." || tail === "..")) problem = `it has a '${tail}' segment`;
  if (problem !== undefined) {
    throw new InputError(`storage prefix ${JSON.stringify(prefix)} is invalid: ${problem}`, { source: where });
  }
}

/** Normalises a child() prefix: trailing '/' dropped, "" means the same root. */
export function normaliseChildPrefix(prefix: string, where: string, what = "prefix"): string {
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed !== "") checkKey(trimmed, where, what);
  return trimmed;
}

/** The one key order of list(): UTF-8 byte order, as S3 lists, so both backends agree. */
export function sortKeys(keys: string[]): string[] {
  // Encode once: encoding inside the comparator would allocate O(n log n) buffers.
  const decorated = keys.map((k) => ({ k, b: Buffer.from(k, "utf8") }));
  decorated.sort((x, y) => Buffer.compare(x.b, y.b));
  return decorated.map((d) => d.k);
}

/** getRange arguments: integers >= 0 (a RangeError, as this is a caller's bug, not bad input). */
export function checkRange(offset: number, length: number, uri: string, key: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`${uri}: getRange(${JSON.stringify(key)}, ${offset}, ${length}): offset and length must be integers >= 0`);
  }
}
