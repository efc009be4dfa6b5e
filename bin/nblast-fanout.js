#!/usr/bin/env node
// Runs the compiled CLI (built into dist/ by `npm ci`, via the prepare script).
import { main } from "../dist/cli/main.js";

main(process.argv).then((code) => {
  process.exitCode = code;
});
