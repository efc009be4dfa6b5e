/**
 * Neuron ids: integers from 0 to 2^63 - 1, exact everywhere. `bigint` at the edges (parsing,
 * messages, lookups), BigInt64Array columns in bulk, and Uint32 "words" views of those
 * columns in hot loops (words.ts). No id ever passes through a double.
 */
export { MAX_ID, MAX_ID_TEXT, idProblem, parseId, tryParseId } from "./parse.ts";
export {
  compareIdAt, compareIdToKey, copyIdAt, firstNotAscending, formatIdAt, idAt, idColumn, idKey, idWords,
  idsFromText, idsToText, isIdAt, isKeyAt, parseIdInto, sameIdAt, searchIdAt, searchIds,
} from "./words.ts";
export type { IdKey } from "./words.ts";
