import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, REPO } from "../helpers/cli.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "nbf-run-"));
});

describe("run, top and export", () => {
  it("runs the bundled Kenyon cells end to end, and a rerun skips every bin", () => {
    const out = join(dir, "kcs");
    const a = runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "5", "--workers", "2"]);
    expect(a.stderr).toMatch(/finished: 5 bins computed, 0 skipped \(already done\), 0 failed, 380 pairs scored/);
    expect(a.status).toBe(0);
    expect(readdirSync(join(out, "done")).sort()).toEqual(["0.json", "1.json", "2.json", "3.json", "4.json"]);

    // status sets the plan's estimated spread of the bins beside what they measured.
    const st = runCli(["status", "--run", out]);
    expect(st.stdout).toMatch(/balance over 5 done bins: estimated cost min \S+ median \S+ max \S+, max\/mean \d\.\d{3}/);
    expect(st.stdout).toMatch(/measured compute .* max\/mean \d+\.\d{3}; \S+-\S+ vCPU-s per million cost units/);
    const stJson = JSON.parse(runCli(["status", "--run", out, "--json"]).stdout) as { totals: { balance: { bins: number; measured: { max: number } } } };
    expect(stJson.totals.balance.bins).toBe(5);
    expect(stJson.totals.balance.measured.max).toBeGreaterThan(0);

    const b = runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "5"]);
    expect(b.status).toBe(0);
    expect(b.stderr).toContain("reusing the cache");
    expect(b.stderr).toContain("already planned (identical)");
    expect(b.stderr).toMatch(/finished: 0 bins computed, 5 skipped/);

    // The alpha'/beta' cell's best match is the other alpha'/beta' cell (kcs20 cell types).
    const top = runCli(["top", "--run", out, "--neuron", "ChaMARCM-F000586_seg002", "-n", "3"]);
    expect(top.status).toBe(0);
    const firstMatch = top.stdout.split("\n").find((l) => /^\s+1\s/.test(l));
    expect(firstMatch).toContain("GadMARCM-F000142_seg002");

    const csv = join(dir, "merged.csv");
    const e = runCli(["export", "--run", out, "--format", "csv", "--out", csv]);
    expect(e.status).toBe(0);
    const lines = readFileSync(csv, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe("query_id,target_id,score");
    const rows = lines.slice(1).map((l) => l.split(",").map(Number));
    const stored = readdirSync(join(out, "done")).reduce(
      (n, f) => n + (JSON.parse(readFileSync(join(out, "done", f), "utf8")) as { shard: { rows: number } }).shard.rows,
      0,
    );
    expect(rows.length).toBe(stored);
    for (const [q, t, s] of rows) {
      expect(q).not.toBe(t); // self pairs are not kept by default
      expect(s).toBeGreaterThan(0); // only positive scores by default
    }
  });

  it("refuses a rerun with other options in the same folder, and --resume of a folder with no plan", () => {
    const out = join(dir, "kcs-other");
    expect(runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "2"]).status).toBe(0);
    const k = runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "2", "--k", "6"]);
    expect(k.status).toBe(2);
    expect(k.stderr).toMatch(/was built with .*k=5.*not .*k=6.*choose a new --out/);
    const m = runCli(["run", "--input", "samples/kcs20", "--out", out, "--bins", "2", "--normalization", "mean"]);
    expect(m.status).toBe(2);
    expect(m.stderr).toContain("already has a different plan");
    const r = runCli(["run", "--resume", join(dir, "nothing-here")]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("no run manifest here");
  });

  it("stops on Ctrl-C with status 130, leaving no partial bin done, and --resume finishes the run", async () => {
    const out = join(dir, "interrupted");
    // A plan with 100 bins over the 20 SWC skeletons, interrupted as soon as scoring starts.
    const args = ["run", "--input", "samples/fctraces20", "--out", out, "--bins", "100", "--normalization", "mean", "--workers", "1"];
    const child = spawn(process.execPath, [fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url)), ...args], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let sent = false;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      stderr += d;
      if (!sent && stderr.includes("scoring [")) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted: /);
    expect(stderr).toContain(`run --resume ${out}`);
    const doneBefore = existsSync(join(out, "done")) ? readdirSync(join(out, "done")).length : 0;
    expect(doneBefore).toBeLessThan(100);

    const status = runCli(["status", "--run", out]);
    expect(status.stdout).toContain(`100 bins, ${doneBefore} done, 0 failed, ${100 - doneBefore} pending`);
    const r = runCli(["run", "--resume", out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`finished: ${100 - doneBefore} bins computed, ${doneBefore} skipped`));
    expect(readdirSync(join(out, "done"))).toHaveLength(100);
    expect(runCli(["status", "--run", out]).stdout).toContain("100 bins, 100 done, 0 failed, 0 pending");
  });
});
