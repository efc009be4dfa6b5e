/**
 * The serverless side: `start` runs when a run's manifest.json lands under runs/ (it
 * enqueues the bins and submits the array job, the code of `submit aws`), `status` returns a
 * run's status as JSON for dashboards (invoke it, or call its function URL signed with
 * SigV4: the URL's auth type is AWS_IAM, so it is not public).
 */
import { Duration, Stack } from "aws-cdk-lib";
import type * as batch from "aws-cdk-lib/aws-batch";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { RUNS, grantReadPrefixes, grantWritePrefixes } from "./grants.ts";
import { handlerFunction } from "./node-function.ts";
import type { ResolvedProps } from "./props.ts";

/** The S3 filter of the start trigger: a run's manifest, `runs/<name>/manifest.json`. */
export const START_TRIGGER = { prefix: "runs/", suffix: "manifest.json" } as const;

export interface RunFunctions {
  readonly start: nodejs.NodejsFunction;
  readonly status: nodejs.NodejsFunction;
  readonly statusUrl: lambda.FunctionUrl;
}

export function createRunFunctions(
  scope: Construct,
  props: ResolvedProps,
  deps: {
    bucket: s3.Bucket;
    queue: sqs.IQueue;
    deadLetterQueue: sqs.IQueue;
    jobQueue: batch.JobQueue;
    jobDefinition: batch.EcsJobDefinition;
  },
): RunFunctions {
  const start = handlerFunction(scope, "StartFunction", {
    handler: "start.ts",
    description: "nblast-fanout: a run's manifest.json landed under runs/; enqueue its bins and submit the array job",
    environment: {
      QUEUE_URL: deps.queue.queueUrl,
      DLQ_URL: deps.deadLetterQueue.queueUrl,
      JOB_QUEUE: deps.jobQueue.jobQueueArn,
      JOB_DEFINITION: deps.jobDefinition.jobDefinitionArn,
      BUCKET: deps.bucket.bucketName,
      DEFAULT_WORKERS: String(props.defaultWorkers),
    },
    // Enqueueing 100,000 bins in batches of 10 takes about a minute; S3 retries twice.
    timeout: Duration.minutes(5),
    memorySize: 512,
    logRetention: props.logRetention,
  });
  grantReadPrefixes(deps.bucket, start, [RUNS]);
  grantWritePrefixes(deps.bucket, start, [RUNS], { remove: false });
  deps.queue.grantSendMessages(start);
  deps.deadLetterQueue.grant(start, "sqs:GetQueueAttributes");
  deps.jobDefinition.grantSubmitJob(start, deps.jobQueue);
  deps.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(start), START_TRIGGER);

  const status = handlerFunction(scope, "StatusFunction", {
    handler: "status.ts",
    description: "nblast-fanout: a run's status as JSON ({ run } or ?run=...)",
    environment: {
      QUEUE_URL: deps.queue.queueUrl,
      DLQ_URL: deps.deadLetterQueue.queueUrl,
      JOB_QUEUE: deps.jobQueue.jobQueueArn,
      BUCKET: deps.bucket.bucketName,
      ...(props.vcpuHourPrice === undefined ? {} : { VCPU_HOUR_PRICE: String(props.vcpuHourPrice) }),
    },
    timeout: Duration.minutes(1),
    memorySize: 512,
    logRetention: props.logRetention,
  });
  grantReadPrefixes(deps.bucket, status, [RUNS]);
  deps.queue.grant(status, "sqs:GetQueueAttributes");
  deps.deadLetterQueue.grant(status, "sqs:GetQueueAttributes");
  grantDescribeJobs(status);
  const statusUrl = status.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  return { start, status, statusUrl };
}

/**
 * batch:DescribeJobs and batch:ListJobs have no resource type in IAM: they are granted on
 * "*" or not at all (the one `*` resource of the stack's own policies, and read-only).
 */
export function grantDescribeJobs(grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ["batch:DescribeJobs", "batch:ListJobs"], resourceArns: ["*"] });
}

/** The ARN pattern of this account's and region's Batch jobs (job ids are known only at submit). */
export function batchJobArnPattern(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: "batch", resource: "job", resourceName: "*" });
}
