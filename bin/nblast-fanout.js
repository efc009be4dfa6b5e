#!/usr/bin/env node
// Runs the compiled CLI, built into dist/ by `npm ci` (the prepare script) or `npm run build`.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("nblast-fanout: not built yet; run `npm ci` (or `npm run build`) in the clone first\n");
  process.exit(2);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
