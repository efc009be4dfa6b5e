/**
 * A loader SIGKILLed in the middle of a COPY: the bin keeps its earlier rows, the ledger
 * its earlier shard, and the next load completes the bin.
 *
 * To kill it mid-COPY deterministically, the test holds an uncommitted row with the key
 * of a pair in the middle of the new shard: the loader's COPY, having inserted the rows
 * before it, waits on that row's unique-index check (pg_stat_activity shows it waiting on
 * a lock, pg_stat_progress_copy its rows so far), and is killed there.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { initSchema, loadRun } from "../../src/db/index.ts";
import { RowsBuilder, type ScoreRows } from "../../src/results/rows.ts";
import { LocalStorage } from "../../src/storage/local.ts";
import { expectedBits, syntheticBinRows, syntheticManifest, tableBits, writeBin } from "./fixtures.ts";
import { writeManifest } from "../../src/plan/manifest.ts";
import { freshDatabase, pgServer, stopPgServer, type PgServer } from "./pg.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const found = await pgServer();
const skip = "skip" in found ? found.skip : undefined;
if (skip !== undefined) console.warn(`test/db/kill.test.ts skipped: ${skip}`);

function without(rows: ScoreRows, drop: number): ScoreRows {
  const b = new RowsBuilder(false, rows.length);
  for (let i = 0; i < rows.length; i++) if (i !== drop) b.push(rows.queryId[i], rows.targetId[i], rows.score[i]);
  return b.finish();
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skip !== undefined)("a loader killed mid-COPY", () => {
  const server = found as PgServer;
  afterAll(() => stopPgServer());

  it("leaves the bin's earlier rows and ledger entry; the next load completes it", async () => {
    const db = await freshDatabase(server, "kill");
    const dir = await mkdtemp(join(tmpdir(), "nbf-db-kill-"));
    try {
      const admin = await db.admin();
      await initSchema(admin);
      const run = new LocalStorage(dir);
      const manifest = syntheticManifest({ neurons: 240, bins: 2 });
      await writeManifest(run, manifest);
      const full = [0, 1].map((b) => syntheticBinRows(manifest, b));
      const mid = Math.floor(full[1].length / 2);
      // first state: bin 1 without its middle pair
      const first = [full[0], without(full[1], mid)];
      for (const b of [0, 1]) await writeBin(run, manifest, b, first[b]);
      const target = { config: { connectionString: db.url }, origin: "test" };
      await loadRun({ run, db: target, similarityId: 6 });
      const ledgerBefore = (await admin.query(`SELECT * FROM nblast_fanout.bins ORDER BY bin`)).rows;
      expect(await tableBits(admin, 6)).toEqual(expectedBits(first));

      // bin 1 recomputed: every pair, other scores
      const second = new RowsBuilder(false, full[1].length);
      for (let i = 0; i < full[1].length; i++) second.push(full[1].queryId[i], full[1].targetId[i], full[1].score[i] * 0.5);
      const bin1 = second.finish();
      await writeBin(run, manifest, 1, bin1);

      const blocker = await db.admin();
      await blocker.query("BEGIN");
      await blocker.query(`INSERT INTO nblast_similarity_score VALUES ($1, $2, 0, 6)`, [String(bin1.queryId[mid]), String(bin1.targetId[mid])]);

      const child = spawn(process.execPath, [MAIN, "load", "--run", dir, "--similarity-id", "6", "--jobs", "1"], {
        env: { ...process.env, DATABASE_URL: db.url },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on("exit", (_code, sig) => res(sig)));
      const waiting = await until("the loader's COPY to wait on the held row", async () => {
        const r = await admin.query(
          `SELECT a.pid, p.tuples_processed::int AS n FROM pg_stat_activity a JOIN pg_stat_progress_copy p ON p.pid = a.pid
            WHERE a.datname = current_database() AND a.application_name = 'nblast-fanout' AND a.wait_event_type = 'Lock'`,
        );
        return r.rows[0] as { pid: number; n: number } | undefined;
      });
      expect(waiting.n).toBeGreaterThan(0); // rows of the new shard were already in, uncommitted
      child.kill("SIGKILL");
      expect(await exited).toBe("SIGKILL");
      await blocker.query("ROLLBACK");
      await until("the killed loader's backend to end", async () => {
        const r = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [waiting.pid]);
        return r.rows.length === 0 ? true : undefined;
      });

      expect(await tableBits(admin, 6), output).toEqual(expectedBits(first));
      expect((await admin.query(`SELECT * FROM nblast_fanout.bins ORDER BY bin`)).rows).toEqual(ledgerBefore);

      const again = await loadRun({ run, db: target, similarityId: 6 });
      expect(again.outcomes.map((o) => [o.bin, o.status])).toEqual([[0, "unchanged"], [1, "loaded"]]);
      expect(await tableBits(admin, 6)).toEqual(expectedBits([full[0], bin1]));
      const ledgerAfter = (await admin.query(`SELECT bin, rows_loaded FROM nblast_fanout.bins ORDER BY bin`)).rows;
      expect(ledgerAfter.map((r) => Number(r.rows_loaded))).toEqual([full[0].length, bin1.length]);
    } finally {
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
