/**
 * What the CLI's user needs for `submit aws`, `status`, `resume`, `redrive` and `cancel` on
 * this stack, as one customer-managed policy (output SubmitterPolicyArn): attach it to the
 * IAM users, groups, roles or IAM Identity Center permission sets that run the CLI.
 */
import type * as batch from "aws-cdk-lib/aws-batch";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { batchJobArnPattern, grantDescribeJobs } from "./functions.ts";
import { CACHES, RUNS, grantReadPrefixes, grantWritePrefixes } from "./grants.ts";

export function createSubmitterPolicy(
  scope: Construct,
  deps: {
    bucket: s3.Bucket;
    queue: sqs.IQueue;
    deadLetterQueue: sqs.IQueue;
    jobQueue: batch.JobQueue;
    jobDefinition: batch.EcsJobDefinition;
    status: lambda.IFunction;
  },
): iam.ManagedPolicy {
  const policy = new iam.ManagedPolicy(scope, "SubmitterPolicy", {
    description: "nblast-fanout CLI: upload caches and runs, submit this job definition to this job queue, follow and cancel runs",
  });
  // Uploads of local caches and runs; `status` and `export` read them back.
  grantReadPrefixes(deps.bucket, policy, [CACHES, RUNS]);
  grantWritePrefixes(deps.bucket, policy, [CACHES, RUNS], { remove: true });
  // Enqueue (submit, resume), purge one run's messages (cancel), queue depths (status).
  deps.queue.grantSendMessages(policy);
  deps.queue.grantConsumeMessages(policy);
  // redrive: receive from the DLQ and send back, or SQS's own message move task.
  deps.deadLetterQueue.grantConsumeMessages(policy);
  deps.deadLetterQueue.grant(policy, "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks");
  deps.jobDefinition.grantSubmitJob(policy, deps.jobQueue);
  grantDescribeJobs(policy);
  iam.Grant.addToPrincipal({
    grantee: policy,
    actions: ["batch:TerminateJob", "batch:CancelJob"],
    resourceArns: [batchJobArnPattern(scope)],
  });
  deps.status.grantInvoke(policy);
  deps.status.grantInvokeUrl(policy);
  return policy;
}
