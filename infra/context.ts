/**
 * Stack props from CDK context: `npx cdk deploy -c maxVcpus=1024 -c spot=false`, or the
 * same keys under "context" in cdk.json / cdk.context.json. Values given with -c arrive as
 * strings, those in JSON files as JSON values: both are accepted. A bad value is an
 * InputError naming the key, printed alone by infra/app.ts (exit status 2).
 */
import { Duration, type Environment } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as kms from "aws-cdk-lib/aws-kms";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { z } from "zod";
import { InputError } from "../src/nblast/errors.ts";
import type { NblastDatabaseProps, NblastFanoutStackProps } from "./props.ts";

// -c gives strings, JSON files give JSON values: strings are converted first, then checked.
const number = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v),
  z.number({ error: "must be a number" }),
);
const boolean = z.preprocess(
  (v) => (v === "true" ? true : v === "false" ? false : v),
  z.boolean({ error: "must be true or false" }),
);
const list = z.preprocess(
  (v) => (typeof v === "string" ? v.split(",").map((t) => t.trim()).filter((t) => t !== "") : v),
  z.array(z.string().trim().min(1), { error: "must be a comma-separated list" }),
);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be ${values.map((v) => JSON.stringify(v)).join(" or ")}` });
const id = (prefix: string) =>
  z.string({ error: `must be a ${prefix}- id` }).trim().regex(new RegExp(`^${prefix}-[0-9a-f]+$`), `must look like ${prefix}-0123456789abcdef0`);
const ids = (prefix: string) =>
  list.pipe(z.array(z.string().regex(new RegExp(`^${prefix}-[0-9a-f]+$`), `must be ${prefix}-... ids, comma-separated`)));
const arn = (service: string, what: string) =>
  z
    .string({ error: `must be a ${service} ARN` })
    .trim()
    .regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]+:\\d{12}:${what}`), `must be an ARN arn:aws:${service}:REGION:ACCOUNT:${what}...`);

/** Every context key the app reads, with its type. Documented in infra/README.md. */
const CONTEXT = {
  maxVcpus: number,
  compute: oneOf(["ec2", "fargate"]),
  spot: boolean,
  instanceTypes: list,
  workerVcpus: number,
  workerMemoryMiB: number,
  retryAttempts: number,
  attemptTimeoutHours: number.pipe(z.number().positive("must be more than 0")),
  maxReceiveCount: number,
  defaultWorkers: number,
  vcpuHourPrice: number,
  noncurrentVersionExpirationDays: number,
  logRetentionDays: number.pipe(
    z.number().refine((n) => Object.values(RetentionDays).includes(n as RetentionDays), {
      message: `must be one of CloudWatch's retention periods (${Object.values(RetentionDays).filter((v) => typeof v === "number").join(", ")})`,
    }),
  ),
  vpcId: id("vpc"),
  vpcSubnetIds: ids("subnet"),
  kmsKeyArn: arn("kms", "key/"),
  databaseSecretArn: arn("secretsmanager", "secret:"),
  databaseVpcId: id("vpc"),
  databaseSubnetIds: ids("subnet"),
  databaseSecurityGroupId: id("sg"),
  loaderSecurityGroupId: id("sg"),
  databasePort: number,
  databaseSslMode: oneOf(["require", "verify-ca", "verify-full"]),
  databaseMaxConcurrency: number,
  databaseVpcEndpoints: boolean,
} as const;

type ContextKey = keyof typeof CONTEXT;
type ContextValues = { -readonly [K in ContextKey]?: z.output<(typeof CONTEXT)[K]> };

export const CONTEXT_KEYS = Object.keys(CONTEXT) as ContextKey[];

/** Reads and checks every known key; `get` is `app.node.tryGetContext`. */
export function readContext(get: (key: string) => unknown): ContextValues {
  const out: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const raw = get(key);
    if (raw === undefined) continue;
    const parsed = CONTEXT[key].safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => i.message).join("; ");
      throw new InputError(`context ${key}=${JSON.stringify(raw)}: ${why}`, { source: "-c" });
    }
    out[key] = parsed.data;
  }
  return out as ContextValues;
}

/**
 * The stack's props from context. An explicit environment (account and region, from the
 * credentials `cdk` found) is used only when a VPC has to be looked up; otherwise the
 * stack stays environment-agnostic and synthesizes offline.
 */
export function propsFromContext(get: (key: string) => unknown, env: NodeJS.ProcessEnv): NblastFanoutStackProps {
  const c = readContext(get);
  const needsLookup = c.vpcId !== undefined || c.databaseVpcId !== undefined;
  if (c.vpcSubnetIds !== undefined && c.vpcId === undefined) throw usage("vpcSubnetIds needs vpcId");
  if ((c.databaseSecretArn === undefined) !== (c.databaseVpcId === undefined)) {
    throw usage("a database needs both databaseSecretArn and databaseVpcId");
  }
  const dbOnly = ["databaseSubnetIds", "databaseSecurityGroupId", "loaderSecurityGroupId", "databasePort", "databaseSslMode", "databaseMaxConcurrency", "databaseVpcEndpoints"] as const;
  for (const key of dbOnly) {
    if (c[key] !== undefined && c.databaseSecretArn === undefined) throw usage(`${key} needs databaseSecretArn and databaseVpcId`);
  }

  const props: { -readonly [K in keyof NblastFanoutStackProps]: NblastFanoutStackProps[K] } = {};
  if (needsLookup) props.env = lookupEnvironment(env);
  if (c.maxVcpus !== undefined) props.maxVcpus = c.maxVcpus;
  if (c.compute !== undefined) props.compute = c.compute;
  if (c.spot !== undefined) props.spot = c.spot;
  if (c.instanceTypes !== undefined) props.instanceTypes = c.instanceTypes;
  if (c.workerVcpus !== undefined) props.workerVcpus = c.workerVcpus;
  if (c.workerMemoryMiB !== undefined) props.workerMemoryMiB = c.workerMemoryMiB;
  if (c.retryAttempts !== undefined) props.retryAttempts = c.retryAttempts;
  if (c.attemptTimeoutHours !== undefined) props.attemptTimeout = Duration.minutes(Math.round(c.attemptTimeoutHours * 60));
  if (c.maxReceiveCount !== undefined) props.maxReceiveCount = c.maxReceiveCount;
  if (c.defaultWorkers !== undefined) props.defaultWorkers = c.defaultWorkers;
  if (c.vcpuHourPrice !== undefined) props.vcpuHourPrice = c.vcpuHourPrice;
  if (c.noncurrentVersionExpirationDays !== undefined) props.noncurrentVersionExpirationDays = c.noncurrentVersionExpirationDays;
  if (c.logRetentionDays !== undefined) props.logRetention = c.logRetentionDays as RetentionDays;
  const { vpcId, vpcSubnetIds, kmsKeyArn } = c;
  if (vpcId !== undefined) {
    props.vpc = (scope: Construct) => ec2.Vpc.fromLookup(scope, "WorkerVpc", { vpcId });
    if (vpcSubnetIds !== undefined) props.vpcSubnets = { subnetFilters: [ec2.SubnetFilter.byIds(vpcSubnetIds)] };
  }
  if (kmsKeyArn !== undefined) props.kmsKey = (scope: Construct) => kms.Key.fromKeyArn(scope, "Key", kmsKeyArn);
  const { databaseSecretArn, databaseVpcId } = c;
  if (databaseSecretArn !== undefined && databaseVpcId !== undefined) {
    props.database = (scope: Construct): NblastDatabaseProps => {
      const vpc = ec2.Vpc.fromLookup(scope, "DatabaseVpc", { vpcId: databaseVpcId });
      const sg = (key: string, sgId: string | undefined) =>
        sgId === undefined ? undefined : ec2.SecurityGroup.fromSecurityGroupId(scope, key, sgId, { mutable: true });
      return {
        secret: secretsmanager.Secret.fromSecretCompleteArn(scope, "DatabaseSecret", databaseSecretArn),
        vpc,
        ...(c.databaseSubnetIds === undefined ? {} : { vpcSubnets: { subnetFilters: [ec2.SubnetFilter.byIds(c.databaseSubnetIds)] } }),
        ...optional("securityGroup", sg("LoaderSecurityGroupImport", c.loaderSecurityGroupId)),
        ...optional("databaseSecurityGroup", sg("DatabaseSecurityGroup", c.databaseSecurityGroupId)),
        ...optional("port", c.databasePort),
        ...optional("sslMode", c.databaseSslMode),
        ...optional("maxConcurrency", c.databaseMaxConcurrency),
        ...optional("createVpcEndpoints", c.databaseVpcEndpoints),
      };
    };
  }
  return props;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** A VPC lookup needs the account and region; `cdk` sets these two from the credentials it found. */
function lookupEnvironment(env: NodeJS.ProcessEnv): Environment {
  const account = env.CDK_DEFAULT_ACCOUNT;
  const region = env.CDK_DEFAULT_REGION;
  if (!account || !region) {
    throw usage(
      "looking up vpcId or databaseVpcId needs AWS credentials and a region (cdk found none: CDK_DEFAULT_ACCOUNT or CDK_DEFAULT_REGION is unset)",
    );
  }
  return { account, region };
}

function usage(message: string): InputError {
  return new InputError(message, { source: "-c" });
}
