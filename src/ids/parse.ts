/**
 * Neuron ids as text: any integer from 0 to 2^63 - 1 (FlyWire root ids are about 7.2e17,
 * beyond a double's 2^53), parsed straight to `bigint` and never through a double.
 *
 * Accepted: ASCII digits only (leading zeros allowed: "007" is 7). Refused: a sign, spaces
 * inside, exponents, decimals, hex, and anything above 2^63 - 1. Callers trim the field.
 */
import { InputError } from "../nblast/errors.ts";

/** The largest id: 2^63 - 1, so every id is a non-negative int64 (Parquet INT64, Postgres bigint). */
export const MAX_ID = (1n << 63n) - 1n;
export const MAX_ID_TEXT = "9223372036854775807";

const DIGITS = /^[0-9]+$/;

/** The id `text` spells, or undefined when it is not one (see the module comment). */
export function tryParseId(text: string): bigint | undefined {
  if (!DIGITS.test(text)) return undefined;
  const id = BigInt(text);
  return id <= MAX_ID ? id : undefined;
}

/** Why `text` is not an id, in words, or undefined when it is one. */
export function idProblem(text: string): string | undefined {
  if (text === "") return "is empty";
  if (text.startsWith("-") && DIGITS.test(text.slice(1))) return "is negative (ids are 0 to 2^63 - 1)";
  if (!DIGITS.test(text)) return "is not a whole number in decimal digits";
  if (BigInt(text) > MAX_ID) return `is above the largest id, 2^63 - 1 = ${MAX_ID_TEXT}`;
  return undefined;
}

/**
 * The id `text` spells; otherwise an InputError naming where (`source`, `line`) and the
 * field: `id "x" in column id is not a whole number ...`.
 */
export function parseId(text: string, where: { source?: string; line?: number; field?: string } = {}): bigint {
  const id = tryParseId(text);
  if (id !== undefined) return id;
  const field = where.field === undefined ? "" : ` (${where.field})`;
  throw new InputError(`id ${JSON.stringify(clip(text))}${field} ${idProblem(text) ?? "is not an id"}`, where);
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}
