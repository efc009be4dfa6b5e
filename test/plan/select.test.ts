import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseIdList, readIdFile } from "../../src/plan/idfile.ts";
import { selectNeurons } from "../../src/plan/select.ts";
import type { PlanNeuron } from "../../src/plan/types.ts";
import { inputError } from "../helpers/input-error.ts";

const neurons: PlanNeuron[] = [
  { id: 30, points: 40, cable: 39 },
  { id: 10, points: 12, cable: 10 },
  { id: 20, points: 25, cable: 24.5 },
  { id: 40, points: 900, cable: 880 },
  { id: 5, points: 3, cable: 2 },
];
const known = new Set(neurons.map((n) => n.id));


describe("selectNeurons", () => {
  it("defaults to all-by-all over every neuron, sorted by id", () => {
    const s = selectNeurons(neurons);
    expect(s.sameSet).toBe(true);
    expect(s.queries.map((n) => n.id)).toEqual([5, 10, 20, 30, 40]);
    expect(s.targets).toBe(s.queries);
  });

  it("filters on cable, both bounds inclusive", () => {
    const s = selectNeurons(neurons, { minLength: 10, maxLength: 39 });
    expect(s.queries.map((n) => n.id)).toEqual([10, 20, 30]);
    expect(s.droppedQueries).toBe(2);
    expect(s.sameSet).toBe(true);
  });

  it("restricts queries and targets to id lists, then filters both", () => {
    const s = selectNeurons(neurons, { queryIds: [40, 10, 10], targetIds: [5, 20, 30], minLength: 5 });
    expect(s.queries.map((n) => n.id)).toEqual([10, 40]);
    expect(s.targets.map((n) => n.id)).toEqual([20, 30]);
    expect(s.sameSet).toBe(false);
    expect(s.droppedTargets).toBe(1);
  });

  it("treats identical query and target lists as all-by-all", () => {
    const s = selectNeurons(neurons, { queryIds: [20, 10], targetIds: [10, 20] });
    expect(s.sameSet).toBe(true);
  });

  it("refuses bad filters and empty selections with clear messages", () => {
    expect(inputError(() => selectNeurons(neurons, { minLength: -1 })).message).toMatch(/--min-length/);
    expect(inputError(() => selectNeurons(neurons, { minLength: 50, maxLength: 10 })).message).toMatch(
      /--min-length 50 is greater than --max-length 10/,
    );
    expect(inputError(() => selectNeurons(neurons, { minLength: 5000 })).message).toMatch(/no query neurons left/);
    expect(inputError(() => selectNeurons(neurons, { targetIds: [99] })).message).toMatch(/target id 99 is not in the cache/);
    expect(inputError(() => selectNeurons([])).message).toMatch(/cache is empty/);
  });

  it("refuses neurons it cannot cost", () => {
    expect(inputError(() => selectNeurons([{ id: 1, points: 0, cable: 1 }])).message).toMatch(/point count/);
    expect(inputError(() => selectNeurons([{ id: 1.5, points: 2, cable: 1 }])).message).toMatch(/not a safe integer/);
    expect(
      inputError(() =>
        selectNeurons([
          { id: 1, points: 2, cable: 1 },
          { id: 1, points: 2, cable: 1 },
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
    expect(parseIdList(text, "q.txt", known)).toEqual([10, 20, 30, 10]);
  });

  it("names the file and line of a bad or unknown id", () => {
    const bad = inputError(() => parseIdList("10\n# ok\n2x0\n", "q.txt", known));
    expect(bad.message).toBe('q.txt:3: expected one integer id per line, got "2x0"');
    expect(bad.line).toBe(3);
    const unknown = inputError(() => parseIdList("10\n20\n77\n", "t.txt", known));
    expect(unknown.message).toBe("t.txt:3: id 77 is not in the cache");
    expect(inputError(() => parseIdList("1.5\n", "q.txt", known)).message).toMatch(/^q.txt:1: /);
    expect(inputError(() => parseIdList("99999999999999999999\n", "q.txt", known)).message).toMatch(/beyond 2\^53/);
    expect(inputError(() => parseIdList("# nothing\n\n", "q.txt", known)).message).toBe("q.txt: no ids in the file");
  });

  it("reads files from disk", async () => {
    const path = join(dir, "ids.txt");
    await writeFile(path, "40\n5\n");
    expect(await readIdFile(path, known)).toEqual([40, 5]);
    await writeFile(path, "40\n6\n");
    await expect(readIdFile(path, known)).rejects.toThrow(`${path}:2: id 6 is not in the cache`);
    await expect(readIdFile(join(dir, "missing.txt"), known)).rejects.toThrow(/missing.txt: no such file/);
  });
});
