import { describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { parseSwc } from "../../src/nblast/swc.ts";
import { inputError } from "../helpers/input-error.ts";

const parseError = (text: string): InputError => inputError(() => parseSwc(text, "bad.swc"));

describe("parseSwc", () => {
  it("reads nodes in file order with parents as indices", () => {
    const sk = parseSwc("# header\n1 2 0 0 0 0.5 -1\n\n2 2 1 0 0 0.5 1\n3 2 1 2.5 -3e-1 0.5 2 # tip\n", "a.swc");
    expect(Array.from(sk.ids)).toEqual([1, 2, 3]);
    expect(Array.from(sk.parent)).toEqual([-1, 0, 1]);
    expect(Array.from(sk.xyz)).toEqual([0, 0, 0, 1, 0, 0, 1, 2.5, -0.3]);
  });

  it("accepts rows in any order, ids that are not 1..n, several roots and any negative parent", () => {
    const text = ["42 1 3 0 0 0 7", "7 1 2 0 0 0 -1", "-5 1 1 0 0 0 -2", "1000000 1 0 0 0 0 -5", "\t 9 1 4 0 0 0 -1 \r"].join("\r\n");
    const sk = parseSwc(text.replace("0 -5", "0 42"), "a.swc");
    expect(Array.from(sk.ids)).toEqual([42, 7, -5, 1000000, 9]);
    expect(Array.from(sk.parent)).toEqual([1, -1, -1, 0, -1]);
  });

  it("rejects a negative parent that is also a node id", () => {
    expect(parseError("-5 1 1 0 0 0 -1\n8 1 0 0 0 0 -5\n").message).toBe(
      'bad.swc:2: parent -5 is negative, which means "no parent", but it is also the id of the node on line 1',
    );
  });

  it("accepts integer-valued ids written as decimals", () => {
    expect(Array.from(parseSwc("1.0 2 0 0 0 0 -1\n2 2 0 0 1 0 1.0", "a.swc").parent)).toEqual([-1, 0]);
  });

  it("names the file and line of a parent that does not exist, with both ids", () => {
    const e = parseError("1 2 0 0 0 0 -1\n2 2 0 0 1 0 1\n3 2 0 0 2 0 17\n");
    expect(e.message).toBe("bad.swc:3: node 3 has parent id 17, which is not a node id in this skeleton");
    expect(e.source).toBe("bad.swc");
    expect(e.line).toBe(3);
  });

  it("names the earlier line of a duplicate id", () => {
    const e = parseError("# c\n1 2 0 0 0 0 -1\n2 2 0 0 1 0 1\n2 2 0 0 2 0 1\n");
    expect(e.message).toBe("bad.swc:4: duplicate node id 2 (first defined on line 3)");
  });

  it("names a node in a cycle", () => {
    const e = parseError("1 2 0 0 0 0 -1\n2 2 0 0 1 0 4\n3 2 0 0 2 0 2\n4 2 0 0 3 0 3\n");
    expect(e.message).toBe("bad.swc:2: node 2 is its own ancestor (cycle 2 -> 4 -> 3 -> 2)");
    expect(e.line).toBe(2);
  });

  it("treats a node that is its own parent as a cycle", () => {
    expect(parseError("1 2 0 0 0 0 -1\n2 2 0 0 1 0 2\n").message).toBe("bad.swc:2: node 2 is its own ancestor (cycle 2 -> 2)");
  });

  it("rejects a forest that is only cycles", () => {
    expect(parseError("1 2 0 0 0 0 2\n2 2 0 0 1 0 1\n").message).toMatch(/is its own ancestor \(cycle (1 -> 2 -> 1|2 -> 1 -> 2)\)/);
  });

  it.each([
    ["NaN", "X coordinate 'NaN' is not a finite number"],
    ["Inf", "X coordinate 'Inf' is not a finite number"],
    ["-Infinity", "X coordinate '-Infinity' is not a finite number"],
    ["1e999", "X coordinate '1e999' is not a finite number"],
    ["0x10", "X coordinate '0x10' is not a finite number"],
    ["abc", "X coordinate 'abc' is not a finite number"],
    ["1,5", "X coordinate '1,5' is not a finite number"],
  ])("rejects the coordinate %s", (x, message) => {
    expect(parseError(`1 2 0 0 0 0 -1\n2 2 ${x} 0 1 0 1\n`).message).toBe(`bad.swc:2: ${message}`);
  });

  it("names the axis of a bad coordinate", () => {
    expect(parseError("1 2 0 0 nan 0 -1\n").message).toBe("bad.swc:1: Z coordinate 'nan' is not a finite number");
  });

  it("rejects a wrong column count", () => {
    expect(parseError("1 2 0 0 0 0 -1\n2 2 0 0 1 1\n").message).toBe(
      "bad.swc:2: expected 7 columns (PointNo Label X Y Z Radius Parent), found 6",
    );
    expect(parseError("1 2 0 0 0 0 -1 extra\n").message).toContain("found 8");
  });

  it("rejects ids and parents that are not integers", () => {
    expect(parseError("1.5 2 0 0 0 0 -1\n").message).toBe("bad.swc:1: PointNo '1.5' is not an integer");
    expect(parseError("a 2 0 0 0 0 -1\n").message).toBe("bad.swc:1: PointNo 'a' is not an integer");
    expect(parseError("1 2 0 0 0 0 -1\n2 2 0 0 0 0 x\n").message).toBe("bad.swc:2: Parent 'x' is not an integer");
  });

  it("rejects a file without nodes", () => {
    const e = parseError("# only a comment\n\n   \n");
    expect(e.message).toBe("bad.swc: no nodes: the SWC file has no data lines");
    expect(parseError("").message).toContain("no nodes");
  });
});
