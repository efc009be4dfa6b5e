// Lambda entry point: a run's status as JSON (invoked, or through its IAM-auth function URL).
export { statusHandler as handler } from "../src/backends/aws/lambda.ts";
