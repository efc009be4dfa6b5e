/**
 * Ids past 2^53 (FlyWire root ids are about 7.2e17) from SWC file names and an id list,
 * through cache build, plan --query-ids, run, export (CSV and Parquet), top, status and
 * the manifest's JSON, unchanged: none of them ever passes through a double.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.ts";

/** Several CLI processes in a row: on a loaded 2-core machine they take minutes, not seconds. */
const SLOW = 240_000;

const FC = "samples/fctraces20";
const BIG = ["9007199254740993", "720575940621039145", "9223372036854775807"]; // 2^53 + 1, a FlyWire root id, 2^63 - 1
const NAMED_ID = "720575940621039146"; // given to named.swc by --id-list
const ALL = [BIG[0], BIG[1], NAMED_ID, BIG[2]]; // ascending
let dir: string;
let inputs: string;
let cache: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-ids-"));
  inputs = join(dir, "in");
  mkdirSync(inputs);
  const swcs = readdirSync(FC).filter((f) => f.endsWith(".swc")).slice(0, 4);
  BIG.forEach((id, i) => copyFileSync(join(FC, swcs[i]), join(inputs, `${id}.swc`)));
  copyFileSync(join(FC, swcs[3]), join(inputs, "named.swc"));
  writeFileSync(join(dir, "ids.csv"), `id,name\n${NAMED_ID},named\n`);
  cache = join(dir, "cache");
  const r = runCli(["cache", "build", "--input", inputs, "--id-list", join(dir, "ids.csv"), "--out", cache, "--threads", "2", "--resample", "2"]);
  expect(r.stderr).toContain("4 neurons");
  expect(r.status).toBe(0);
}, SLOW);

/** query_id,target_id pairs of an exported CSV, as text. */
function csvPairs(path: string): string[] {
  const lines = readFileSync(path, "utf8").trimEnd().split("\n");
  expect(lines[0]).toBe("query_id,target_id,score");
  return lines.slice(1).map((l) => l.split(",").slice(0, 2).join(","));
}

describe("ids past 2^53", () => {
  it("go from file names and --id-list through run, the manifest, export, top and status unchanged", async () => {
    const run = join(dir, "run");
    const r = runCli(["run", "--cache", cache, "--out", run, "--bins", "3", "--keep-all", "--workers", "2"]);
    expect(r.stderr).toContain("finished: 3 bins computed");
    expect(r.status).toBe(0);

    // the manifest: decimal strings, exactly
    const manifest = readFileSync(join(run, "manifest.json"), "utf8");
    expect(manifest).toContain(`"queries": [${ALL.map((x) => `"${x}"`).join(",")}]`);
    expect(manifest).not.toMatch(/9007199254740992|720575940621039100|9223372036854776000/);

    // export, CSV: every ordered pair but the self pairs, ids as their digits
    const csv = join(dir, "all.csv");
    expect(runCli(["export", "--run", run, "--format", "csv", "--out", csv]).status).toBe(0);
    const want = ALL.flatMap((q) => ALL.filter((t) => t !== q).map((t) => `${q},${t}`));
    expect(csvPairs(csv)).toEqual(want);

    // export, Parquet: int64 columns that any reader (here hyparquet) reads back as the same bigints
    const pq = join(dir, "all.parquet");
    expect(runCli(["export", "--run", run, "--format", "parquet", "--out", pq]).status).toBe(0);
    const bytes = readFileSync(pq);
    const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer });
    expect(rows.map((x) => `${typeof x.query_id}:${x.query_id},${x.target_id}`)).toEqual(want.map((p) => `bigint:${p}`));
    expect(rows.map((x) => x.query_id as bigint)).toContain(9223372036854775807n);

    // top, by id and by name
    const top = runCli(["top", "--run", run, "--neuron", BIG[1], "-n", "5"]);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain(`best matches of ${BIG[1]} (id ${BIG[1]})`);
    for (const other of [BIG[0], NAMED_ID, BIG[2]]) expect(top.stdout).toContain(`(${other})`);
    const byName = runCli(["top", "--run", run, "--neuron", "named", "-n", "5"]);
    expect(byName.stdout).toContain(`best matches of named (id ${NAMED_ID})`);
    expect(byName.stdout).toContain(`${BIG[2]} (${BIG[2]})`);
    // an id just past one in the cache is not a neuron of it (no rounding to a neighbour)
    const near = runCli(["top", "--run", run, "--neuron", "9007199254740992"]);
    expect(near.status).toBe(2);
    expect(near.stderr).toContain("no neuron with id or name '9007199254740992'");

    const status = runCli(["status", "--run", run]);
    expect(status.stdout).toContain("3 bins, 3 done, 0 failed, 0 pending");
    expect(JSON.parse(runCli(["status", "--run", run, "--json"]).stdout).counts).toEqual({ done: 3, failed: 0, pending: 0 });
  }, SLOW);

  it("plan --query-ids takes them from a file; a bad id there is named by file and line", () => {
    const q = join(dir, "queries.txt");
    writeFileSync(q, `# two FlyWire-sized ids\n${BIG[2]}\n${BIG[0]}  # 2^53 + 1\n`);
    const run = join(dir, "subset");
    const p = runCli(["plan", "--cache", cache, "--out", run, "--bins", "2", "--keep-all", "--query-ids", q]);
    expect(p.status).toBe(0);
    expect(readFileSync(join(run, "manifest.json"), "utf8")).toContain(`"queries": ["${BIG[0]}","${BIG[2]}"]`);
    expect(runCli(["run", "--resume", run]).status).toBe(0);
    const csv = join(dir, "subset.csv");
    expect(runCli(["export", "--run", run, "--out", csv]).status).toBe(0);
    expect(new Set(csvPairs(csv).map((x) => x.split(",")[0]))).toEqual(new Set([BIG[0], BIG[2]]));

    for (const [line, why] of [
      ["9007199254740992", "id 9007199254740992 is not in the cache"],
      ["9223372036854775808", '"9223372036854775808" is above the largest id, 2^63 - 1'],
      ["-720575940621039145", '"-720575940621039145" is negative'],
    ]) {
      writeFileSync(q, `${BIG[0]}\n${line}\n`);
      const bad = runCli(["plan", "--cache", cache, "--out", join(dir, "bad-plan"), "--query-ids", q]);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain(`${q}:2: `);
      expect(bad.stderr).toContain(why);
    }
  }, SLOW);

  it("score names neurons by their file names, the big numbers included", () => {
    const s = runCli(["score", "--query", join(inputs, `${BIG[2]}.swc`), "--target", inputs, "--resample", "2"]);
    expect(s.status).toBe(0);
    expect(s.stdout).toContain(`${BIG[2]},${BIG[1]},`);
    expect(s.stdout).toContain(`${BIG[2]},named,`);
  }, SLOW);
});
