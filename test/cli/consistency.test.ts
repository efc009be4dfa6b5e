/**
 * Issue 8 part 8, CLI consistency: help lists the values of enumerated options, every bad
 * option value (commander's own errors too) exits 2, `run` takes --threads (with --workers
 * as a hidden alias) and cache build's input options, and an old Node says which Node is
 * needed and how to get it.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, runCli } from "../helpers/cli.ts";
import { missing } from "../helpers/skip.ts";

const SLOW = 240_000;
const FC = "samples/fctraces20";

describe("help and option values", () => {
  it("--normalization's help lists every mode, as do the other enumerated options", () => {
    const score = runCli(["score", "--help"]).stdout.replace(/\s+/g, " ");
    expect(score).toContain('(choices: "raw", "normalized", "mean", "geometric-mean", "min", "max", "harmonic-mean", default: "normalized")');
    expect(runCli(["plan", "--help"]).stdout.replace(/\s+/g, " ")).toContain('(choices: "cost", "cable"');
    expect(runCli(["cache", "build", "--help"]).stdout.replace(/\s+/g, " ")).toContain('(choices: "float32", "float64"');
    expect(runCli(["export", "--help"]).stdout.replace(/\s+/g, " ")).toContain('(choices: "csv", "parquet"');
  });

  it("a bad option value, an unknown option, a missing value or an unknown command exits 2 with one line, no stack", () => {
    const cases: [string[], string][] = [
      [["score", "--query", "x.swc", "--normalization", "average"], "Allowed choices are raw, normalized, mean, geometric-mean, min, max, harmonic-mean"],
      [["score", "--query", "x.swc", "--k", "0"], "--k"],
      [["score", "--query", "x.swc", "--resample", "-1"], "--resample"],
      [["cache", "build", "--input", "x", "--out", "y", "--precision", "float16"], "float16"],
      [["export", "--run", "r", "--out", "o", "--format", "xlsx"], "xlsx"],
      [["score", "--query", "x.swc", "--no-such-option"], "unknown option '--no-such-option'"],
      [["score"], "required option '--query <path...>' not specified"],
      [["nonsense"], "unknown command 'nonsense'"],
      [["run", "--input", "x", "--out", "y", "--threads", "two"], "--threads"],
    ];
    for (const [args, text] of cases) {
      const r = runCli(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(text);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(runCli(["--help"]).status).toBe(0);
    expect(runCli(["--version"]).status).toBe(0);
  });
});

describe("run takes what cache build takes", () => {
  it("--threads (and --workers, hidden, as its alias), --recursive, --id-list, --strict", () => {
    const help = runCli(["run", "--help"]).stdout;
    for (const opt of ["--threads", "--recursive", "--id-list", "--strict", "--tmp-dir", "--max-points", "--precision", "--scale", "--simplify", "--resample", "--k"]) {
      expect(help).toContain(opt);
    }
    expect(help).not.toContain("--workers");
    const clash = runCli(["run", "--input", "x", "--out", "y", "--threads", "2", "--workers", "3"]);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toContain("--threads 2 and --workers 3 disagree");

    const dir = mkdtempSync(join(tmpdir(), "nbf-run-opts-"));
    const inputs = join(dir, "in");
    mkdirSync(join(inputs, "sub"), { recursive: true });
    const swcs = readdirSync(FC).filter((f) => f.endsWith(".swc")).slice(0, 3);
    copyFileSync(join(FC, swcs[0]), join(inputs, "a.swc"));
    copyFileSync(join(FC, swcs[1]), join(inputs, "sub", "b.swc"));
    writeFileSync(join(inputs, "sub", "broken.swc"), "1 0 0 0\n");
    writeFileSync(join(dir, "ids.csv"), "id,name\n101,a\n202,b\n");
    const base = ["run", "--input", inputs, "--recursive", "--id-list", join(dir, "ids.csv"), "--bins", "1", "--keep-all"];
    const strict = runCli([...base, "--out", join(dir, "strict"), "--strict", "--threads", "1"]);
    expect(strict.status).toBe(2);
    expect(strict.stderr).toContain("broken.swc");
    const ok = runCli([...base, "--out", join(dir, "ok"), "--workers", "1"]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain("1 neurons could not be read");
    const top = runCli(["top", "--run", join(dir, "ok"), "--neuron", "202", "-n", "1", "--partial"]);
    expect(top.status).toBe(0);
    expect(top.stdout).toContain("best matches of b (id 202)");
  }, SLOW);
});

describe("an old Node", () => {
  const check = createRequire(import.meta.url)("../../bin/check-node.cjs") as {
    REQUIRED: string;
    isRecentEnough(v: string): boolean;
    nodeProblem(v: string, exec: string): string | null;
  };

  it("is told which Node is needed and how to get it (the check itself)", () => {
    expect(check.REQUIRED).toBe("22.18.0");
    for (const v of ["v22.18.0", "v22.23.3", "v23.0.0", "v24.1.0"]) expect(check.isRecentEnough(v)).toBe(true);
    for (const v of ["v22.17.9", "v20.20.2", "v18.0.0", "v0.10.48"]) expect(check.isRecentEnough(v)).toBe(false);
    const msg = check.nodeProblem("v20.20.2", "/usr/bin/node")!;
    expect(msg).toContain("needs Node.js 22.18.0 or newer");
    expect(msg).toContain("this is Node 20.20.2 (/usr/bin/node)");
    expect(msg).toContain("nvm install 22");
    expect(check.nodeProblem(process.version, process.execPath)).toBeNull();
  });

  it("the CLI refuses before importing anything of the program when Node reports an older version", () => {
    // This Node, made to report 20.0.0 (process.version is what the check reads).
    const dir = mkdtempSync(join(tmpdir(), "nbf-old-node-"));
    const fake = join(dir, "fake-old.cjs");
    writeFileSync(fake, 'Object.defineProperty(process, "version", { value: "v20.0.0" });\n');
    const r = spawnSync(process.execPath, ["-r", fake, "bin/nblast-fanout.js", "--version"], { cwd: REPO, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("this is Node 20.0.0");
    expect(r.stdout).toBe("");
  });

  // A real older Node, where the machine has one (Debian's nodejs 20 here).
  const old = ["/usr/bin/node", "/usr/local/bin/node"].find((p) => existsSync(p) && !check.isRecentEnough(spawnSync(p, ["--version"], { encoding: "utf8" }).stdout.trim()));
  const oldNode = old !== undefined ? { ok: true as const, path: old } : missing("a Node older than 22.18", "none at /usr/bin/node or /usr/local/bin/node");

  it.skipIf(!oldNode.ok)("the CLI and npm test's pretest on it print the message and exit 1", () => {
    const node = (oldNode as { path: string }).path;
    for (const script of ["bin/nblast-fanout.js", "bin/check-node.cjs"]) {
      const r = spawnSync(node, [script, "--version"], { cwd: REPO, encoding: "utf8" });
      expect(r.status, script).toBe(1);
      expect(r.stderr).toContain("nblast-fanout needs Node.js 22.18.0 or newer");
      expect(r.stderr).not.toContain("groupBy is not a function");
    }
  });
});
