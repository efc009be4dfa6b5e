import { readFileSync } from "node:fs";

/** The tool version from package.json (two levels up from src/ or dist/), recorded in manifests and done markers. */
export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
