/**
 * AWS Batch: a managed compute environment (Spot by default), a job queue, and the job
 * definition of one worker, `drain` of the bin queue (the array's size is the number of
 * workers, not of bins: every child drains until the queue is empty).
 */
import * as path from "node:path";
import { RemovalPolicy, Size, Stack } from "aws-cdk-lib";
import * as batch from "aws-cdk-lib/aws-batch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Platform } from "aws-cdk-lib/aws-ecr-assets";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { CACHES, RUNS, grantReadPrefixes, grantWritePrefixes } from "./grants.ts";
import type { WorkerNetwork } from "./network.ts";
import type { ResolvedProps } from "./props.ts";

/** The repository root: the worker image's build context (it needs package.json and src/). */
export const REPO_ROOT = path.resolve(import.meta.dirname, "..");

/**
 * Kept out of the image's build context, so that synth stages (copies into cdk.out) only
 * the sources: node_modules alone is hundreds of MB. A .dockerignore at the root, if the
 * image's owner adds one, is honoured as well.
 */
export const IMAGE_CONTEXT_EXCLUDE = [
  ".git",
  "node_modules",
  "cdk.out",
  "cdk-outputs.json",
  "dist",
  "out",
  ".ci/.vitest.json",
  "**/*.log",
];

export interface Workers {
  readonly computeEnvironment: batch.IComputeEnvironment;
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  readonly workerRole: iam.Role;
  readonly logGroup: logs.LogGroup;
}

export function createWorkers(
  scope: Construct,
  props: ResolvedProps,
  deps: {
    network: WorkerNetwork;
    bucket: s3.Bucket;
    queue: sqs.IQueue;
    image: ecs.ContainerImage | undefined;
  },
): Workers {
  const computeEnvironment =
    props.compute === "fargate" ? fargateEnvironment(scope, props, deps.network) : ec2Environment(scope, props, deps.network);
  const jobQueue = new batch.JobQueue(scope, "JobQueue", {
    computeEnvironments: [{ computeEnvironment, order: 1 }],
    priority: 1,
  });

  // The job role: what the worker's own code may do, and nothing else (no database secret).
  const workerRole = new iam.Role(scope, "WorkerRole", {
    assumedBy: new iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
    description: "nblast-fanout worker: reads caches/ and runs/, writes runs/, consumes the bin queue",
  });
  grantReadPrefixes(deps.bucket, workerRole, [CACHES, RUNS]);
  grantWritePrefixes(deps.bucket, workerRole, [RUNS], { remove: true });
  deps.queue.grantConsumeMessages(workerRole);

  const logGroup = new logs.LogGroup(scope, "WorkerLogs", {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const image =
    deps.image ??
    ecs.ContainerImage.fromAsset(REPO_ROOT, {
      file: "container/Dockerfile",
      exclude: IMAGE_CONTEXT_EXCLUDE,
      // Built for x86-64 whatever machine runs `cdk deploy` (an Arm laptop included).
      platform: Platform.LINUX_AMD64,
    });
  const containerProps = {
    image,
    cpu: props.workerVcpus,
    memory: Size.mebibytes(props.workerMemoryMiB),
    command: ["drain"],
    environment: {
      NBLAST_FANOUT_QUEUE_URL: deps.queue.queueUrl,
      // ECS sets it too; explicit, so the SDK never falls back to instance metadata.
      AWS_REGION: Stack.of(scope).region,
    },
    jobRole: workerRole,
    logging: ecs.LogDriver.awsLogs({ logGroup, streamPrefix: "worker" }),
  };
  const container =
    props.compute === "fargate"
      ? new batch.EcsFargateContainerDefinition(scope, "WorkerContainer", {
          ...containerProps,
          assignPublicIp: deps.network.assignPublicIp,
          fargatePlatformVersion: ecs.FargatePlatformVersion.LATEST,
        })
      : new batch.EcsEc2ContainerDefinition(scope, "WorkerContainer", containerProps);

  const jobDefinition = new batch.EcsJobDefinition(scope, "JobDefinition", {
    container,
    retryAttempts: props.retryAttempts,
    retryStrategies: [
      // Spot reclaim and host failure: the child starts again and drains what is left.
      batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
      // Anything else is the worker's own error (exit 3 and the like): retrying would repeat
      // it; its bin goes back to the queue and the DLQ counts it.
      batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: "*" })),
    ],
    timeout: props.attemptTimeout,
    propagateTags: true,
  });
  return { computeEnvironment, jobQueue, jobDefinition, workerRole, logGroup };
}

function ec2Environment(scope: Construct, props: ResolvedProps, network: WorkerNetwork): batch.IComputeEnvironment {
  // IMDSv2 only, one hop: containers (bridge network, one hop further) cannot reach the
  // instance's metadata and so cannot borrow the instance role; they get only the job role.
  const launchTemplate = new ec2.LaunchTemplate(scope, "WorkerLaunchTemplate", {
    requireImdsv2: true,
    httpPutResponseHopLimit: 1,
  });
  const families = props.instanceTypes.filter((t) => t !== "default_x86_64" && !t.includes("."));
  const types = props.instanceTypes.filter((t) => t.includes("."));
  return new batch.ManagedEc2EcsComputeEnvironment(scope, "ComputeEnvironment", {
    vpc: network.vpc,
    ...(network.vpcSubnets === undefined ? {} : { vpcSubnets: network.vpcSubnets }),
    spot: props.spot,
    ...(props.spot
      ? { allocationStrategy: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED }
      : { allocationStrategy: batch.AllocationStrategy.BEST_FIT_PROGRESSIVE }),
    minvCpus: 0,
    maxvCpus: props.maxVcpus,
    // With defaultInstanceClasses, useOptimalInstanceClasses must stay unset: aws-cdk-lib's
    // validation ignores defaultInstanceClasses and would find no instances otherwise. The
    // rendered InstanceTypes hold no "optimal" either way (asserted in test/infra).
    ...(props.instanceTypes.includes("default_x86_64")
      ? { defaultInstanceClasses: [batch.DefaultInstanceClass.X86_64] }
      : { useOptimalInstanceClasses: false }),
    instanceClasses: families.map((f) => f as ec2.InstanceClass),
    instanceTypes: types.map((t) => new ec2.InstanceType(t)),
    images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023 }],
    launchTemplate,
    updateToLatestImageVersion: true,
  });
}

function fargateEnvironment(scope: Construct, props: ResolvedProps, network: WorkerNetwork): batch.IComputeEnvironment {
  return new batch.FargateComputeEnvironment(scope, "ComputeEnvironment", {
    vpc: network.vpc,
    ...(network.vpcSubnets === undefined ? {} : { vpcSubnets: network.vpcSubnets }),
    spot: props.spot,
    maxvCpus: props.maxVcpus,
  });
}
