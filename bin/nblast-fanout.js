#!/usr/bin/env node
// Runs the compiled CLI, built into dist/ by `npm ci` (the prepare script) or `npm run build`.
// The Node version is checked first, before any of the program is imported.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const { nodeProblem } = createRequire(import.meta.url)("./check-node.cjs");
const problem = nodeProblem(process.version, process.execPath);
if (problem !== null) {
  process.stderr.write(problem);
  process.exit(1);
}

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("nblast-fanout: not built yet; run `npm ci` (or `npm run build`) in the clone first\n");
  process.exit(2);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv);
