/**
 * The CDK app (cdk.json: `node infra/app.ts`, Node 22.18+ runs the TypeScript as it is):
 * one stack, NblastFanoutStack, its props from context (-c key=value, infra/context.ts).
 */
import { App } from "aws-cdk-lib";
import { InputError } from "../src/nblast/errors.ts";
import { propsFromContext } from "./context.ts";
import { PropsError } from "./props.ts";
import { NblastFanoutStack } from "./stack.ts";

export const STACK_NAME = "NblastFanoutStack";

try {
  const app = new App();
  new NblastFanoutStack(app, STACK_NAME, propsFromContext((key) => app.node.tryGetContext(key), process.env));
  app.synth();
} catch (err) {
  // A bad prop is the user's input: its message alone, as the CLI prints an InputError.
  if (err instanceof InputError || err instanceof PropsError) {
    process.stderr.write(`nblast-fanout infra: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
