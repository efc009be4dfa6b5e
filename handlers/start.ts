// Lambda entry point: a run's manifest.json created under runs/ (see infra/functions.ts).
export { startHandler as handler } from "../src/backends/aws/lambda.ts";
