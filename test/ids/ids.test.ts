import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  MAX_ID, compareIdAt, compareIdToKey, formatIdAt, idAt, idKey, idWords, idsFromText, idsToText, parseId, parseIdInto,
  searchIds, tryParseId,
} from "../../src/ids/index.ts";
import { InputError } from "../../src/nblast/errors.ts";

const BIG = [0n, 1n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, 720575940621039145n, (1n << 63n) - 1n, 4294967295n, 4294967296n];
const anyId = fc.bigInt({ min: 0n, max: MAX_ID });
/** Strings near ids: digits, signs, spaces, exponents, letters, very long numbers. */
const idLike = fc.oneof(
  anyId.map(String),
  fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }).map(String),
  fc.stringMatching(/^[0-9+\-eE. x]{0,25}$/),
  fc.string({ maxLength: 25 }),
  fc.tuple(fc.stringMatching(/^0{0,5}$/), anyId).map(([z, id]) => z + String(id)),
);

describe("parsing ids", () => {
  it("reads the edge cases exactly", () => {
    for (const id of BIG) expect(parseId(String(id))).toBe(id);
    expect(parseId("9223372036854775807")).toBe((1n << 63n) - 1n);
    expect(parseId("007")).toBe(7n);
  });

  it("refuses negative, too large and non-integer ids with an InputError naming the place and field", () => {
    const cases: [string, RegExp][] = [
      ["-1", /negative/],
      ["9223372036854775808", /above the largest id, 2\^63 - 1 = 9223372036854775807/],
      ["1e3", /not a whole number/],
      ["1.0", /not a whole number/],
      ["", /empty/],
      ["0x10", /not a whole number/],
      [" 5", /not a whole number/],
    ];
    for (const [text, why] of cases) {
      let err: unknown;
      try {
        parseId(text, { source: "ids.csv", line: 3, field: "column id" });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/^ids\.csv:3: id .* \(column id\) /);
      expect((err as Error).message).toMatch(why);
    }
  });

  it("property: any string parses to the exact bigint its digits spell, or fails with InputError", () => {
    fc.assert(
      fc.property(idLike, (text) => {
        const expected = /^[0-9]+$/.test(text) && BigInt(text) <= MAX_ID ? BigInt(text) : undefined;
        expect(tryParseId(text)).toBe(expected);
        try {
          expect(parseId(text, { source: "f" })).toBe(expected);
        } catch (e) {
          expect(expected).toBeUndefined();
          expect(e).toBeInstanceOf(InputError);
        }
        // The BigInt-free parser agrees, digit for digit.
        const w = new Uint32Array(2);
        expect(parseIdInto(text, w, 0)).toBe(expected !== undefined);
        if (expected !== undefined) expect(idAt(w, 0)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("id words", () => {
  it("property: compare, search and print through the words agree with bigint arithmetic", () => {
    fc.assert(
      fc.property(fc.array(anyId, { minLength: 1, maxLength: 40 }), anyId, (list, probe) => {
        const ids = BigInt64Array.from(list);
        const w = idWords(ids);
        for (let i = 0; i < list.length; i++) {
          expect(formatIdAt(w, i)).toBe(list[i].toString());
          expect(idAt(w, i)).toBe(list[i]);
          for (let j = 0; j < list.length; j++) {
            expect(compareIdAt(w, i, w, j)).toBe(list[i] < list[j] ? -1 : list[i] > list[j] ? 1 : 0);
          }
          expect(compareIdToKey(w, i, idKey(probe))).toBe(list[i] < probe ? -1 : list[i] > probe ? 1 : 0);
        }
        const sorted = BigInt64Array.from([...new Set(list)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        const at = searchIds(idWords(sorted), sorted.length, idKey(probe));
        expect(at).toBe(sorted.indexOf(probe));
        expect(idsFromText(idsToText(sorted))).toEqual(sorted);
      }),
      { numRuns: 500 },
    );
  });

  it("prints the edge cases", () => {
    const ids = BigInt64Array.from(BIG);
    expect(idsToText(ids)).toEqual(BIG.map(String));
  });
});
