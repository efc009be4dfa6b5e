/**
 * Issue 8, parts 4 and 6, as a new user meets them: files that are not neurons, neurons
 * too big to make (huge coordinates, tiny steps), too few points, and input that scores
 * but probably not as meant (nanometres, one node, identical points, fragments dropped by
 * --simplify). Each is refused (exit 2) or warned about, naming the file.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

const FC = "samples/fctraces20";
const NEURON = "DvGlutMARCM-F004097_seg001";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "nbf-harden-in-"));
}

/** An SWC of a straight chain of n nodes, 1 unit apart, starting at (x0, 0, 0). */
function chain(n: number, x0 = 0, step = 1): string {
  const rows: string[] = [];
  for (let i = 1; i <= n; i++) rows.push(`${i} 0 ${x0 + (i - 1) * step} 0 0 1 ${i === 1 ? -1 : i - 1}`);
  return rows.join("\n") + "\n";
}

/** The fctraces20 neuron as CATMAID compact-detail JSON in nanometres. */
function catmaidNm(): string {
  const lines = readFileSync(join(FC, `${NEURON}.swc`), "utf8").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const nodes = lines.map((l) => {
    const [id, , x, y, z, , parent] = l.trim().split(/\s+/).map(Number);
    return [id, parent < 0 ? null : parent, 0, x * 1000, y * 1000, z * 1000, -1, 5];
  });
  return JSON.stringify([nodes, [], {}]);
}

describe("what is a neuron", () => {
  it("skips a metadata.csv with X, Y, Z columns in a folder, listing it in the report, and refuses it named directly", () => {
    const dir = tmp();
    const inputs = join(dir, "in");
    mkdirSync(inputs);
    copyFileSync(join(FC, `${NEURON}.swc`), join(inputs, `${NEURON}.swc`));
    const meta = join(inputs, "metadata.csv");
    const rows = ["order,name,n_points,X,Y,Z,type"];
    for (let i = 0; i < 20; i++) rows.push(`${i},n${i},100,${i},${2 * i},${3 * i},KC`);
    writeFileSync(meta, rows.join("\n") + "\n");
    const out = join(dir, "cache");
    const r = runCli(["cache", "build", "--input", inputs, "--out", out, "--threads", "1"]);
    expect(r.stderr).toContain(`${meta}: a CSV that is neither dotprops nor points`);
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report.skipped).toEqual([{ path: meta, reason: expect.stringContaining("neither dotprops nor points") }]);
    expect(JSON.parse(readFileSync(join(out, "cache.json"), "utf8")).neurons).toBe(1);

    const direct = runCli(["score", "--query", meta]);
    expect(direct.status).toBe(2);
    expect(direct.stderr).toContain(`${meta}:1: not a neuron CSV`);
    expect(direct.stderr).not.toMatch(/\n\s+at /);
  });

  it("still takes both CSV layouts, quoted or not, with or without a row-name column", () => {
    const dir = tmp();
    const pts = ["idx,X,Y,Z", '"","X","Y","Z"', "X,Y,Z", "points.X,points.Y,points.Z"];
    pts.forEach((h, i) => writeFileSync(join(dir, `p${i}.csv`), [h, ...Array.from({ length: 6 }, (_, j) => `${h.startsWith("X") || h.startsWith("points") ? "" : `${j},`}${j},${j * j},${j % 2}`)].join("\n") + "\n"));
    const r = runCli(["score", "--query", dir, "--normalization", "raw"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1 + 16);
  });
});

describe("bounded work per neuron (--max-points)", () => {
  it("refuses coordinates near 1e300 at once, naming the file and the point", () => {
    const dir = tmp();
    const f = join(dir, "huge.swc");
    writeFileSync(f, "1 0 0 0 0 1 -1\n2 0 1e300 0 0 1 1\n3 0 2e300 1e300 0 1 2\n");
    const r = runCli(["score", "--query", f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${f}: point 2 has X = 1e+300, beyond the 1e+150`);
    expect(r.stderr).not.toMatch(/allocation failed|\n\s+at /);
  });

  it("refuses a product that overflows after --scale, naming --scale", () => {
    const dir = tmp();
    const f = join(dir, "big.swc");
    writeFileSync(f, "1 0 0 0 0 1 -1\n2 0 1e140 0 0 1 1\n");
    const r = runCli(["score", "--query", f, "--scale", "1e20", "--k", "1"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${f}: point 2 has X = 1e+160 after --scale 100000000000000000000`);
  });

  it("refuses --resample 1e-9 before resampling, with the estimate, in score and in cache build", () => {
    const f = join(FC, `${NEURON}.swc`);
    const r = runCli(["score", "--query", f, "--resample", "1e-9"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${f}: would have about [0-9,]+ points at --resample 1e-9 \\(cable [0-9.e+]+\\), more than --max-points 2000000`));
    const dir = tmp();
    const c = runCli(["cache", "build", "--input", f, "--out", join(dir, "c"), "--resample", "1e-9", "--strict", "--threads", "1"]);
    expect(c.status).toBe(2);
    expect(c.stderr).toContain("more than --max-points 2000000");
    expect(c.stderr).toContain(f);
  });

  it("--max-points lowers the limit on every command that builds dotprops; a bad value exits 2", () => {
    const f = join(FC, `${NEURON}.swc`);
    const r = runCli(["score", "--query", f, "--max-points", "100"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("more than --max-points 100");
    for (const cmd of [["score", "--query", f], ["cache", "build", "--input", f, "--out", "x"], ["run", "--input", f, "--out", "x"]]) {
      const bad = runCli([...cmd, "--max-points", "0"]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain("--max-points");
    }
  });
});

describe("degenerate input", () => {
  it("a neuron with fewer than k points is an error naming the file and both counts", () => {
    const dir = tmp();
    const f = join(dir, "tiny.swc");
    writeFileSync(f, chain(3));
    const r = runCli(["score", "--query", f, "--resample", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${f}: has 3 points, fewer than k = 5`);
  });

  it("warns on stderr about one-node neurons and identical points, with what to do", () => {
    const dir = tmp();
    writeFileSync(join(dir, "one.swc"), "1 0 5 5 5 1 -1\n");
    writeFileSync(join(dir, "same.csv"), "X,Y,Z\n" + "1,2,3\n".repeat(6));
    const r = runCli(["score", "--query", dir, "--k", "1", "--normalization", "raw"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`warning: ${join(dir, "one.swc")}: has a single node`);
    expect(r.stderr).toContain(`warning: ${join(dir, "same.csv")}: all 6 points are identical`);
  });

  it("warns that a CATMAID export read without --scale looks like nanometres, on stderr and in the cache report", () => {
    const dir = tmp();
    const f = join(dir, "12345.json");
    writeFileSync(f, catmaidNm());
    const out = join(dir, "cache");
    const r = runCli(["cache", "build", "--input", f, "--out", out, "--threads", "1"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: 1 neuron\(s\) cached but look wrong/);
    expect(r.stderr).toContain(`${f}: spans`);
    expect(r.stderr).toContain("looks like nanometres rather than microns: if they are nanometres (CATMAID, FlyWire), add --scale 0.001");
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report.warnings[0]).toMatchObject({ id: "12345", path: f });
    const info = runCli(["cache", "info", out]);
    expect(info.stdout).toContain("warnings   1 neuron(s) cached with warnings");
    // with the fix, no warning
    const ok = runCli(["cache", "build", "--input", f, "--out", join(dir, "c2"), "--threads", "1", "--scale", "0.001"]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).not.toContain("warning");
  });

  it("lists the neurons that lost fragments through --simplify in the cache report and cache info", () => {
    const dir = tmp();
    // main tree: a spine 0..20 with side branches at 5, 10, 15 (3 branch points); a separate 6-node fragment
    const rows: string[] = [];
    for (let i = 1; i <= 21; i++) rows.push(`${i} 0 ${i} 0 0 1 ${i === 1 ? -1 : i - 1}`);
    let id = 22;
    for (const at of [5, 10, 15]) for (let j = 1; j <= 4; j++) rows.push(`${id++} 0 ${at} ${j} 0 1 ${j === 1 ? at : id - 2}`);
    for (let j = 0; j < 6; j++) rows.push(`${100 + j} 0 50 50 ${j} 1 ${j === 0 ? -1 : 99 + j}`);
    const f = join(dir, "7.swc");
    writeFileSync(f, rows.join("\n") + "\n");
    const out = join(dir, "cache");
    const r = runCli(["cache", "build", "--input", f, "--out", out, "--threads", "1", "--simplify", "1"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`${f}: 1 fragment(s) (whole trees) dropped by --simplify`);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    expect(report.simplified).toEqual([{ id: "7", name: "7", path: f, droppedTrees: 1, stoppedEarly: null }]);
    expect(runCli(["cache", "info", out]).stdout).toContain("7: 1 fragment(s) (whole trees) dropped by --simplify");
  });
});
