/** The local engine: every bin of a run on this machine (docs/worker.md). */
export { formatLocalSummary, runLocal } from "./run-local.ts";
export type { BinFailure, LocalProgress, LocalRunOptions, LocalRunSummary } from "./run-local.ts";
export { binStatus } from "../../worker/markers.ts";
export type { BinStatus } from "../../worker/markers.ts";
