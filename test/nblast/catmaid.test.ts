import { describe, expect, it } from "vitest";
import { parseCatmaidCompactDetail } from "../../src/nblast/catmaid.ts";
import { InputError } from "../../src/nblast/errors.ts";
import { inputError } from "../helpers/input-error.ts";

const doc = (nodes: unknown[]): string => JSON.stringify([nodes, [], {}, [], []]);

const parseError = (text: string): InputError => inputError(() => parseCatmaidCompactDetail(text, "12345.json"));

describe("parseCatmaidCompactDetail", () => {
  it("reads nodes in list order, null parent as root, coordinates unscaled", () => {
    const sk = parseCatmaidCompactDetail(
      doc([
        [1003, 1001, 5, 300.5, 400, 500, -1, 5],
        [1001, null, 5, 1000, 2000, 3000, 12.5, 5],
        [1002, 1001, 7, 1500, 2000, 3000, -1, 5],
      ]),
      "s.json",
    );
    expect(Array.from(sk.ids)).toEqual([1003, 1001, 1002]);
    expect(Array.from(sk.parent)).toEqual([1, -1, 1]);
    expect(Array.from(sk.xyz)).toEqual([300.5, 400, 500, 1000, 2000, 3000, 1500, 2000, 3000]);
  });

  it("accepts the short form without tags and extra node fields", () => {
    const sk = parseCatmaidCompactDetail(JSON.stringify([[[1, null, 0, 1, 2, 3, 0, 5, 1700000000]], []]), "s.json");
    expect(Array.from(sk.xyz)).toEqual([1, 2, 3]);
  });

  it("names the node of a parent that does not exist", () => {
    expect(parseError(doc([[1, null, 0, 0, 0, 0, 0, 5], [2, 99, 0, 0, 0, 1, 0, 5]])).message).toBe(
      "12345.json: node 1 (id 2): node 2 has parent id 99, which is not a node id in this skeleton",
    );
  });

  it("names both nodes of a duplicate id", () => {
    expect(parseError(doc([[1, null, 0, 0, 0, 0, 0, 5], [1, 1, 0, 0, 0, 1, 0, 5]])).message).toBe(
      "12345.json: node 1 (id 1): duplicate node id 1 (first defined on node 0)",
    );
  });

  it("names a node in a cycle", () => {
    expect(parseError(doc([[1, 2, 0, 0, 0, 0, 0, 5], [2, 1, 0, 0, 0, 1, 0, 5]])).message).toMatch(
      /^12345\.json: node \d \(id \d\): node \d is its own ancestor \(cycle/,
    );
  });

  it.each([
    [[1, null, 0, "1", 0, 0], 'x (field 3) is "1", expected a number'],
    [[1, null, 0, 0, null, 0], "y (field 4) is null, expected a number"],
    [[1, null, 0, 0, 0], "expected an array [id, parent_id, user_id, x, y, z, ...], found [1,null,0,0,0]"],
    [[1.5, null, 0, 0, 0, 0], "id (field 0) is 1.5, expected an integer"],
    [[1, "2", 0, 0, 0, 0], 'parent_id (field 1) is "2", expected an integer or null'],
    [{ id: 1 }, 'expected an array [id, parent_id, user_id, x, y, z, ...], found {"id":1}'],
  ])("rejects the node %j", (node, message) => {
    const e = parseError(doc([[7, null, 0, 0, 0, 0, 0, 5], node]));
    expect(e.message).toMatch(/^12345\.json: node 1( \(id 1\))?: /);
    expect(e.message.endsWith(message)).toBe(true);
  });

  it("rejects text that is not compact-detail JSON", () => {
    expect(parseError("{not json").message).toMatch(/^12345\.json: not valid JSON \(.*\); expected CATMAID compact-detail JSON/);
    expect(parseError('{"nodes": []}').message).toMatch(/^12345\.json: expected CATMAID compact-detail JSON/);
    expect(parseError("[1, 2]").message).toMatch(/expected CATMAID compact-detail JSON/);
  });

  it("rejects a skeleton without nodes", () => {
    expect(parseError(doc([])).message).toBe("12345.json: no nodes: the skeleton's node list is empty");
  });
});
