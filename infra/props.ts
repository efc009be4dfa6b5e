/**
 * The props of NblastFanoutStack, their defaults, and their checks. Every prop also has a
 * context key (`-c key=value`, infra/context.ts) and a line in infra/README.md.
 */
import { Duration, type StackProps } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import type * as kms from "aws-cdk-lib/aws-kms";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";

/**
 * A construct, or a function that makes it in the stack's scope (for lookups such as
 * `ec2.Vpc.fromLookup`, which need a scope inside the stack that uses them).
 */
export type Resolvable<T> = T | ((scope: Construct) => T);

export function resolve<T extends object>(scope: Construct, value: Resolvable<T>): T;
export function resolve<T extends object>(scope: Construct, value: Resolvable<T> | undefined): T | undefined;
export function resolve<T extends object>(scope: Construct, value: Resolvable<T> | undefined): T | undefined {
  return typeof value === "function" ? value(scope) : value;
}

export type ComputeKind = "ec2" | "fargate";

/** The Postgres database a loader Lambda writes each finished bin into (issue 11). */
export interface NblastDatabaseProps {
  /** Secrets Manager secret with the RDS JSON fields host, port, username, password, dbname. */
  readonly secret: secretsmanager.ISecret;
  /** The VPC from which the database is reachable; the loader runs in it. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of that VPC for the loader. They need a way to S3 and Secrets Manager: a NAT
   * gateway, or endpoints (`createVpcEndpoints`).
   * @default the VPC's private subnets (with egress, else isolated)
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The loader's own security group. @default a new one, all outbound allowed */
  readonly securityGroup?: ec2.ISecurityGroup;
  /**
   * The database's security group: when given, the stack adds an ingress rule from the
   * loader's security group on `port`. @default none (open the database to the
   * `LoaderSecurityGroupId` output yourself)
   */
  readonly databaseSecurityGroup?: ec2.ISecurityGroup;
  /** @default 5432 */
  readonly port?: number;
  /** PGSSLMODE of the loader's connections. @default "require" */
  readonly sslMode?: "require" | "verify-ca" | "verify-full";
  /**
   * Loaders running at once, so that a thousand bins finishing together do not open a
   * thousand connections to a production database. @default 4
   */
  readonly maxConcurrency?: number;
  /**
   * Add an S3 gateway endpoint and a Secrets Manager interface endpoint to the database's
   * VPC, for subnets without a NAT gateway (the interface endpoint costs about $7/month
   * per AZ). @default false
   */
  readonly createVpcEndpoints?: boolean;
}

export interface NblastFanoutStackProps extends StackProps {
  /** Most vCPUs the compute environment runs at once (Batch scales to 0 when idle). @default 256 */
  readonly maxVcpus?: number;
  /** EC2 instances managed by Batch, or Fargate tasks. @default "ec2" */
  readonly compute?: ComputeKind;
  /** Spot (EC2 Spot or Fargate Spot) rather than on-demand. @default true */
  readonly spot?: boolean;
  /**
   * EC2 only: instance families ("c6i"), types ("c7a.4xlarge") or Batch's region-aware
   * "default_x86_64" (m6i, c6i, r6i, c7i). The worker image is x86-64.
   * @default ["default_x86_64"]
   */
  readonly instanceTypes?: readonly string[];
  /** vCPUs of one worker (one array child); its threads follow. @default 4 */
  readonly workerVcpus?: number;
  /** Memory of one worker, MiB. The default fits a 4-vCPU, 8 GiB instance. @default 7168 */
  readonly workerMemoryMiB?: number;
  /** Attempts of one array child; only `Host EC2*` failures are retried. @default 5 */
  readonly retryAttempts?: number;
  /** Timeout of one attempt of one array child. @default 12 hours */
  readonly attemptTimeout?: Duration;
  /** Receives of one bin's message before it goes to the dead-letter queue. @default 3 */
  readonly maxReceiveCount?: number;
  /** Array size the start Lambda uses when the run does not say. @default 100 */
  readonly defaultWorkers?: number;
  /** Price per vCPU-hour given to the status Lambda (VCPU_HOUR_PRICE). @default none: its own default */
  readonly vcpuHourPrice?: number;
  /**
   * An existing VPC for the workers. @default a new VPC of public subnets only: no NAT
   * gateway, an S3 gateway endpoint (free), workers with public IPs and no inbound rule
   */
  readonly vpc?: Resolvable<ec2.IVpc>;
  /** Subnets of `vpc` for the workers. @default Batch's choice: private subnets if any, else public */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Customer-managed KMS key for the bucket and both queues. @default S3-managed and SQS-managed keys */
  readonly kmsKey?: Resolvable<kms.IKey>;
  /** Days after which replaced (noncurrent) object versions are deleted; 0 keeps them. @default 30 */
  readonly noncurrentVersionExpirationDays?: number;
  /** Retention of the workers' and Lambdas' logs. @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * The worker image. @default built at deploy time from container/Dockerfile with the
   * repository as its build context (synth only stages the files; no Docker needed)
   */
  readonly image?: ecs.ContainerImage;
  /** A database to load each finished bin into, from a loader Lambda in its VPC. @default none */
  readonly database?: Resolvable<NblastDatabaseProps>;
}

export const DEFAULTS = {
  maxVcpus: 256,
  compute: "ec2" as ComputeKind,
  spot: true,
  instanceTypes: ["default_x86_64"] as readonly string[],
  workerVcpus: 4,
  workerMemoryMiB: 7168,
  retryAttempts: 5,
  attemptTimeout: Duration.hours(12),
  maxReceiveCount: 3,
  defaultWorkers: 100,
  noncurrentVersionExpirationDays: 30,
  logRetention: RetentionDays.ONE_MONTH,
  database: { port: 5432, sslMode: "require" as const, maxConcurrency: 4 },
};

/**
 * Fargate's allowed vCPU values and, for each, the allowed memory (MiB).
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html
 */
const FARGATE_SIZES: ReadonlyMap<number, { readonly allowed: readonly number[]; readonly text: string }> = new Map([
  [0.25, { allowed: [512, 1024, 2048], text: "512, 1024 or 2048" }],
  [0.5, steps(1024, 4096, 1024)],
  [1, steps(2048, 8192, 1024)],
  [2, steps(4096, 16384, 1024)],
  [4, steps(8192, 30720, 1024)],
  [8, steps(16384, 61440, 4096)],
  [16, steps(32768, 122880, 8192)],
]);

function steps(min: number, max: number, step: number): { allowed: number[]; text: string } {
  const allowed: number[] = [];
  for (let m = min; m <= max; m += step) allowed.push(m);
  return { allowed, text: `${min} to ${max} in steps of ${step}` };
}

/** Props with every default filled in, checked; throws PropsError naming the prop. */
export interface ResolvedProps {
  readonly maxVcpus: number;
  readonly compute: ComputeKind;
  readonly spot: boolean;
  readonly instanceTypes: readonly string[];
  readonly workerVcpus: number;
  readonly workerMemoryMiB: number;
  readonly retryAttempts: number;
  readonly attemptTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly defaultWorkers: number;
  readonly vcpuHourPrice: number | undefined;
  readonly noncurrentVersionExpirationDays: number;
  readonly logRetention: RetentionDays;
}

/** A prop out of range; its message names the prop and what it must be. */
export class PropsError extends Error {
  override readonly name = "PropsError";
}

export function resolveProps(props: NblastFanoutStackProps): ResolvedProps {
  const r: ResolvedProps = {
    maxVcpus: props.maxVcpus ?? DEFAULTS.maxVcpus,
    compute: props.compute ?? DEFAULTS.compute,
    spot: props.spot ?? DEFAULTS.spot,
    instanceTypes: props.instanceTypes ?? DEFAULTS.instanceTypes,
    workerVcpus: props.workerVcpus ?? DEFAULTS.workerVcpus,
    workerMemoryMiB: props.workerMemoryMiB ?? DEFAULTS.workerMemoryMiB,
    retryAttempts: props.retryAttempts ?? DEFAULTS.retryAttempts,
    attemptTimeout: props.attemptTimeout ?? DEFAULTS.attemptTimeout,
    maxReceiveCount: props.maxReceiveCount ?? DEFAULTS.maxReceiveCount,
    defaultWorkers: props.defaultWorkers ?? DEFAULTS.defaultWorkers,
    vcpuHourPrice: props.vcpuHourPrice,
    noncurrentVersionExpirationDays: props.noncurrentVersionExpirationDays ?? DEFAULTS.noncurrentVersionExpirationDays,
    logRetention: props.logRetention ?? DEFAULTS.logRetention,
  };
  integer("maxVcpus", r.maxVcpus, 1, 1_000_000);
  integer("workerMemoryMiB", r.workerMemoryMiB, 512, 2_000_000);
  integer("retryAttempts", r.retryAttempts, 1, 10); // Batch's own range
  integer("maxReceiveCount", r.maxReceiveCount, 1, 1000); // SQS's own range
  integer("defaultWorkers", r.defaultWorkers, 1, 10_000); // Batch's array size limit
  integer("noncurrentVersionExpirationDays", r.noncurrentVersionExpirationDays, 0, 100_000);
  if (r.vcpuHourPrice !== undefined && !(Number.isFinite(r.vcpuHourPrice) && r.vcpuHourPrice >= 0)) {
    throw new PropsError(`vcpuHourPrice must be a price of 0 or more (USD per vCPU-hour), not ${r.vcpuHourPrice}`);
  }
  const timeoutSeconds = r.attemptTimeout.toSeconds();
  if (timeoutSeconds < 60) throw new PropsError(`attemptTimeout must be at least 60 seconds (Batch's minimum), not ${timeoutSeconds}`);
  if (r.compute !== "ec2" && r.compute !== "fargate") {
    throw new PropsError(`compute must be "ec2" or "fargate", not ${JSON.stringify(r.compute)}`);
  }
  if (r.compute === "fargate") {
    const size = FARGATE_SIZES.get(r.workerVcpus);
    if (size === undefined) {
      throw new PropsError(`workerVcpus on Fargate must be one of ${[...FARGATE_SIZES.keys()].join(", ")}, not ${r.workerVcpus}`);
    }
    if (!size.allowed.includes(r.workerMemoryMiB)) {
      throw new PropsError(`workerMemoryMiB on Fargate with ${r.workerVcpus} vCPUs must be ${size.text}, not ${r.workerMemoryMiB}`);
    }
  } else {
    integer("workerVcpus", r.workerVcpus, 1, 192);
    if (r.instanceTypes.length === 0) throw new PropsError("instanceTypes must name at least one instance family or type");
    for (const t of r.instanceTypes) {
      if (!/^[a-z][a-z0-9-]*(\.[a-z0-9]+)?$/.test(t) && t !== "default_x86_64") {
        throw new PropsError(`instanceTypes: ${JSON.stringify(t)} is not an instance family ("c6i"), type ("c6i.2xlarge") or "default_x86_64"`);
      }
    }
  }
  if (r.workerVcpus > r.maxVcpus) throw new PropsError(`maxVcpus (${r.maxVcpus}) must be at least workerVcpus (${r.workerVcpus})`);
  return r;
}

function integer(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PropsError(`${name} must be a whole number from ${min} to ${max}, not ${value}`);
  }
}
