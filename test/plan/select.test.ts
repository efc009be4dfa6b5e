import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../src/nblast/errors.ts";
import { parseIdList, readIdFile } from "../../src/plan/idfile.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { PlanNeuron } from "../../src/plan/types.ts";
import { inputError } from "../helpers/input-error.ts";

const neurons: PlanNeuron[] = [
  { id: 30n, points: 40, cable: 39 },
  { id: 10n, points: 12, cable: 10 },
  { id: 20n, points: 25, cable: 24.5 },
  { id: 40n, points: 900, cable: 880 },
  { id: 5n, points: 3, cable: 2 },
];
const known = new Set(neurons.map((n) => n.id));


describe("selectNeurons", () => {
  it("defaults to all-by-all over every neuron, sorted by id", () => {
    const s = selectNeurons(neurons);
    expect(s.sameSet).toBe(true);
    expect(s.queries.map((n) => n.id)).toEqual([5n, 10n, 20n, 30n, 40n]);
    expect(s.targets).toBe(s.queries);
  });

  it("filters on cable, both bounds inclusive", () => {
    const s = selectNeurons(neurons, { minLength: 10, maxLength: 39 });
    expect(s.queries.map((n) => n.id)).toEqual([10n, 20n, 30n]);
    expect(s.droppedQueries).toBe(2);
    expect(s.sameSet).toBe(true);
  });

  it("restricts queries and targets to id lists, then filters both", () => {
    const s = selectNeurons(neurons, { queryIds: [40n, 10n, 10n], targetIds: [5n, 20n, 30n], minLength: 5 });
    expect(s.queries.map((n) => n.id)).toEqual([10n, 40n]);
    expect(s.targets.map((n) => n.id)).toEqual([20n, 30n]);
    expect(s.sameSet).toBe(false);
    expect(s.droppedTargets).toBe(1);
  });

  it("treats identical query and target lists as all-by-all", () => {
    const s = selectNeurons(neurons, { queryIds: [20n, 10n], targetIds: [10n, 20n] });
    expect(s.sameSet).toBe(true);
  });

  it("refuses bad filters and empty selections with clear messages", () => {
    expect(inputError(() => selectNeurons(neurons, { minLength: -1 })).message).toMatch(/--min-length/);
    expect(inputError(() => selectNeurons(neurons, { minLength: 50, maxLength: 10 })).message).toMatch(
      /--min-length 50 is greater than --max-length 10/,
    );
    expect(inputError(() => selectNeurons(neurons, { minLength: 5000 })).message).toMatch(/no query neurons left/);
    expect(inputError(() => selectNeurons(neurons, { targetIds: [99n] })).message).toMatch(/target id 99 is not in the cache/);
    expect(inputError(() => selectNeurons([])).message).toMatch(/cache is empty/);
  });

  it("refuses neurons it cannot cost", () => {
    expect(inputError(() => selectNeurons([{ id: 1n, points: 0, cable: 1 }])).message).toMatch(/point count/);
    expect(inputError(() => selectNeurons([{ id: -1n, points: 2, cable: 1 }])).message).toMatch(/not an integer from 0 to 2\^63 - 1/);
    expect(
      inputError(() =>
        selectNeurons([
          { id: 1n, points: 2, cable: 1 },
          { id: 1n, points: 2, cable: 1 },
        ]),
      ).message,
    ).toMatch(/appears twice/);
  });
});

describe("id files", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "plan-ids-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads one id per line with comments and blank lines", () => {
    const text = "\uFEFF# queries for the test\n10\n\n  20  # a comment\r\n30\n10\n";
    expect(parseIdList(text, "q.txt", known)).toEqual([10n, 20n, 30n, 10n]);
  });

  it("names the file and line of a bad or unknown id", () => {
    const bad = inputError(() => parseIdList("10\n# ok\n2x0\n", "q.txt", known));
    expect(bad.message).toBe('q.txt:3: expected one integer id per line: "2x0" is not a whole number in decimal digits');
    expect(bad.line).toBe(3);
    const unknown = inputError(() => parseIdList("10\n20\n77\n", "t.txt", known));
    expect(unknown.message).toBe("t.txt:3: id 77 is not in the cache");
    expect(inputError(() => parseIdList("1.5\n", "q.txt", known)).message).toMatch(/^q.txt:1: /);
    expect(inputError(() => parseIdList("9223372036854775808\n", "q.txt", known)).message).toMatch(/above the largest id, 2\^63 - 1/);
    expect(inputError(() => parseIdList("-5\n", "q.txt", known)).message).toMatch(/^q.txt:1: .*"-5" is negative/);
    expect(inputError(() => parseIdList("# nothing\n\n", "q.txt", known)).message).toBe("q.txt: no ids in the file");
  });

  it("property: a file of random lines gives the exact ids, or an InputError naming the file and line", () => {
    const line = fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }).map(String),
      fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }).map(String),
      fc.stringMatching(/^[0-9 #+\-eE.x]{0,22}$/),
      fc.string({ maxLength: 22 }),
    );
    const any = { has: (_: bigint) => true };
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 8 }), (lines) => {
        const text = lines.join("\n");
        const expected: bigint[] = [];
        let badLine = 0;
        lines.forEach((l, i) => {
          if (badLine > 0) return;
          const field = (l.includes("#") ? l.slice(0, l.indexOf("#")) : l).trim();
          if (field === "") return;
          if (/^[0-9]+$/.test(field) && BigInt(field) < 1n << 63n) expected.push(BigInt(field));
          else badLine = i + 1;
        });
        try {
          expect(parseIdList(text, "q.txt", any)).toEqual(expected);
          expect(badLine).toBe(0);
          expect(expected.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          const where = badLine > 0 ? `q.txt:${badLine}: ` : "q.txt: no ids";
          expect((e as Error).message.startsWith(where)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("reads ids past 2^53 exactly", () => {
    const big = new Set([9007199254740993n, 720575940621039145n, 9223372036854775807n]);
    expect(parseIdList("9007199254740993\n720575940621039145 # FlyWire\n9223372036854775807\n", "q.txt", big)).toEqual([...big]);
    expect(inputError(() => parseIdList("9007199254740992\n", "q.txt", big)).message).toBe("q.txt:1: id 9007199254740992 is not in the cache");
  });

  it("reads files from disk", async () => {
    const path = join(dir, "ids.txt");
    await writeFile(path, "40\n5\n");
    expect(await readIdFile(path, known)).toEqual([40n, 5n]);
    await writeFile(path, "40\n6\n");
    await expect(readIdFile(path, known)).rejects.toThrow(`${path}:2: id 6 is not in the cache`);
    await expect(readIdFile(join(dir, "missing.txt"), known)).rejects.toThrow(/missing.txt: no such file/);
  });
});
