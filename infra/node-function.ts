/**
 * One way to build every Lambda of the stack from `handlers/*.ts`: NodejsFunction bundled
 * locally by esbuild (a dev dependency: no Docker), ES module output for Node.js 22, the
 * AWS SDK bundled in at the versions of package-lock.json (the runtime's own copy lags and
 * would run other code than the CLI's), Arm64 (cheaper per GB-second; the code is pure JS).
 */
import * as path from "node:path";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { REPO_ROOT } from "./workers.ts";

/** The oldest runtime that is not deprecated, and the one the project is tested on. */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface HandlerFunctionProps {
  /** The file under handlers/, e.g. "start.ts". */
  readonly handler: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly reservedConcurrentExecutions?: number;
}

export function handlerFunction(scope: Construct, id: string, props: HandlerFunctionProps): nodejs.NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return new nodejs.NodejsFunction(scope, id, {
    entry: path.join(REPO_ROOT, "handlers", props.handler),
    handler: "handler",
    projectRoot: REPO_ROOT,
    depsLockFilePath: path.join(REPO_ROOT, "package-lock.json"),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    description: props.description,
    // Stack traces name the handlers' TypeScript lines (the bundle ships its source map).
    environment: { ...props.environment, NODE_OPTIONS: "--enable-source-maps" },
    timeout: props.timeout,
    memorySize: props.memorySize,
    logGroup,
    ...(props.vpc === undefined
      ? {}
      : { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups }),
    ...(props.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    bundling: {
      format: nodejs.OutputFormat.ESM,
      target: "node22",
      bundleAwsSDK: true,
      // pg's optional native binding, required only under NODE_PG_FORCE_NATIVE: never bundled.
      // (An explicit list: @aws-sdk/* stays bundled.)
      externalModules: ["pg-native"],
      forceDockerBundling: false,
      sourceMap: true,
      sourcesContent: false,
      minify: true,
      keepNames: true,
      logLevel: nodejs.LogLevel.WARNING,
      // Some bundled CommonJS (the SDK's) calls require(): give an ES module one.
      banner: "import { createRequire as __nbfCreateRequire } from 'node:module'; const require = __nbfCreateRequire(import.meta.url);",
    },
  });
}
