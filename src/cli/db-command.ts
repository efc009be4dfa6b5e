import type { Command } from "commander";
import { checkSchema, connect, databaseFromEnv, formatBinOutcome, formatLoadSummary, grantLoader, grantStatements, initSchema, initSql, loadRun, PUBLIC_TEMP_EXPLANATION, revokePublicTempStatements } from "../db/index.ts";
import { openStorage } from "../storage/open.ts";
import { positiveInt } from "./parse-options.ts";

const CREDENTIALS = "login from DATABASE_URL, or else PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE and ~/.pgpass";

export function registerDb(program: Command): void {
  const db = program
    .command("db")
    .description(`set up a Postgres database for \`load\` (${CREDENTIALS})`);

  db.command("init")
    .description("create, or check and report on, the score table and this tool's ledger (schema nblast_fanout); in a CATMAID database only the ledger is added")
    .option("--catmaid", "the database must be CATMAID's (detected otherwise: it has public.nblast_similarity)")
    .option("--print", "print the SQL instead of running it (plain database unless --catmaid; no connection)")
    .action(async (o: { catmaid?: boolean; print?: boolean }) => {
      if (o.print === true) {
        process.stdout.write(initSql(o.catmaid === true) + "\n");
        return;
      }
      const client = await connect(databaseFromEnv());
      try {
        const r = await initSchema(client, { catmaid: o.catmaid });
        const c = r.check;
        const out = [`database kind: ${c.catmaid ? "CATMAID (its tables are used as they stand)" : "plain"}`];
        out.push(`public.nblast_similarity_score: ${c.scoreTable === "ok" ? "present, CATMAID's columns" : c.scoreTable}`);
        for (const m of c.missingIndexes) out.push(`  missing index (loads work, reads and reloads are slower): ${m}`);
        for (const x of c.otherIndexes) out.push(`  other index (slows loading): ${x}`);
        out.push(`ledger nblast_fanout.runs, nblast_fanout.bins: ${c.ledger}, ${c.ledgerRuns} runs registered`);
        out.push(r.created.length === 0 ? "nothing to create: already set up" : `created: ${r.created.join(", ")}`);
        out.push("next: `nblast-fanout db grant --role ROLE` gives the loader's role what it needs");
        process.stdout.write(out.join("\n") + "\n");
      } finally {
        await client.end();
      }
    });

  db.command("grant")
    .description("give a role exactly what `load` needs: CONNECT, USAGE on the schemas, SELECT/INSERT/DELETE on the score table, the ledger, and (CATMAID) the similarity's status columns")
    .requiredOption("--role <name>", "the loader's role (it must exist; set its password yourself, e.g. with psql's \\password)")
    .option("--catmaid", "the database must be CATMAID's (detected otherwise)")
    .option("--revoke-public-temp", "also take PUBLIC's TEMPORARY privilege on the database, so the role cannot create temporary tables (see --print: it affects other roles)")
    .option("--print", "print the statements and what PUBLIC's TEMPORARY privilege means, without running anything (connects to detect CATMAID unless --catmaid)")
    .action(async (o: { role: string; catmaid?: boolean; revokePublicTemp?: boolean; print?: boolean }) => {
      if (o.print === true) {
        const target = databaseFromEnv();
        let catmaid = o.catmaid === true;
        let database = "<database>";
        if (!catmaid) {
          const client = await connect(target);
          try {
            catmaid = (await checkSchema(client)).catmaid;
            database = (await client.query<{ d: string }>("SELECT current_database() AS d")).rows[0].d;
          } finally {
            await client.end();
          }
        }
        const st = grantStatements(database, o.role, catmaid);
        if (o.revokePublicTemp) st.push(...revokePublicTempStatements(database, o.role));
        process.stdout.write(st.map((s) => `-- ${s.why}\n${s.sql};`).join("\n") + "\n\n" + PUBLIC_TEMP_EXPLANATION + "\n");
        return;
      }
      const client = await connect(databaseFromEnv());
      try {
        const r = await grantLoader(client, { role: o.role, catmaid: o.catmaid, revokePublicTemp: o.revokePublicTemp });
        const out = [`granted to ${r.role} on ${r.database}${r.catmaid ? " (CATMAID)" : ""}:`, ...r.statements.map((s) => `  ${s.sql}`)];
        if (o.revokePublicTemp) {
          out.push(
            r.lostTemp.length === 0
              ? "PUBLIC's TEMPORARY revoked; no other login role lost the right to create temporary tables"
              : `PUBLIC's TEMPORARY revoked: these login roles can no longer create temporary tables here: ${r.lostTemp.join(", ")} ` +
                  `(give one back with GRANT TEMPORARY ON DATABASE ${r.database} TO <role>)`,
          );
        }
        if (r.warnings.length === 0) out.push(`${r.role} can do nothing else in this database`);
        else out.push(`${r.role} can still do more than loading needs:`, ...r.warnings.map((w) => `  ${w}`));
        process.stdout.write(out.join("\n") + "\n");
      } finally {
        await client.end();
      }
    });

  program
    .command("load")
    .description(`load every verified done bin of a run into nblast_similarity_score, one transaction per bin, idempotently (${CREDENTIALS})`)
    .requiredOption("--run <run-uri>", "the run's folder or s3:// prefix")
    .requiredOption("--similarity-id <n>", "the similarity the rows belong to (CATMAID: the id of a similarity made with \"Apply only (don't run)\")", positiveInt)
    .option("--catmaid", "the database must be CATMAID's (detected otherwise); applies CATMAID's rule (scores above 0.01, no self pairs) and completes the similarity row")
    .option("--jobs <n>", "bins loaded at once, each on its own connection (more only helps a database server with idle cores)", positiveInt, 1)
    .action(async (o: { run: string; similarityId: number; catmaid?: boolean; jobs: number }) => {
      const summary = await loadRun({
        run: openStorage(o.run),
        db: databaseFromEnv(),
        similarityId: o.similarityId,
        catmaid: o.catmaid,
        jobs: o.jobs,
        onBin: (b) => process.stdout.write(formatBinOutcome(b) + "\n"),
      });
      process.stdout.write(formatLoadSummary(summary, o.similarityId) + "\n");
    });
}
