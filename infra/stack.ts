/**
 * NblastFanoutStack: everything `submit aws` needs, deployed once with `cdk deploy`.
 *
 *   bucket (caches/, runs/) ──manifest.json──▶ start Lambda ──▶ bin queue + array job
 *   Batch array children (`drain`) ◀── bin queue ──▶ dead-letter queue
 *   status Lambda (function URL, IAM auth); optional loader Lambda in the database's VPC
 *
 * Environment-agnostic unless an existing VPC is looked up, so `cdk synth` needs no
 * credentials and no network. Least privilege through grants only; see infra/README.md.
 */
import { CfnOutput, Stack } from "aws-cdk-lib";
import type * as batch from "aws-cdk-lib/aws-batch";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { createBinQueues } from "./bin-queues.ts";
import { createDataBucket } from "./data-bucket.ts";
import { createDatabaseLoader, type DatabaseLoader } from "./database-loader.ts";
import { createRunFunctions, type RunFunctions } from "./functions.ts";
import { workerNetwork } from "./network.ts";
import { resolve, resolveProps, type NblastFanoutStackProps } from "./props.ts";
import { createSubmitterPolicy } from "./submitter.ts";
import { createWorkers, type Workers } from "./workers.ts";

export type { NblastDatabaseProps, NblastFanoutStackProps } from "./props.ts";

export class NblastFanoutStack extends Stack {
  readonly bucket: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly workers: Workers;
  readonly jobQueue: batch.JobQueue;
  readonly jobDefinition: batch.EcsJobDefinition;
  readonly functions: RunFunctions;
  readonly submitterPolicy: iam.ManagedPolicy;
  readonly databaseLoader: DatabaseLoader | undefined;

  constructor(scope: Construct, id: string, props: NblastFanoutStackProps = {}) {
    super(scope, id, {
      description: "nblast-fanout: S3 bucket, SQS bin queue, AWS Batch workers and Lambdas (all-by-all NBLAST)",
      ...props,
    });
    const resolved = resolveProps(props);
    const kmsKey = resolve(this, props.kmsKey);

    this.bucket = createDataBucket(this, { kmsKey, noncurrentVersionExpirationDays: resolved.noncurrentVersionExpirationDays });
    const queues = createBinQueues(this, { kmsKey, maxReceiveCount: resolved.maxReceiveCount });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

    const network = workerNetwork(this, { vpc: resolve(this, props.vpc), vpcSubnets: props.vpcSubnets });
    this.workers = createWorkers(this, resolved, { network, bucket: this.bucket, queue: this.queue, image: props.image });
    this.jobQueue = this.workers.jobQueue;
    this.jobDefinition = this.workers.jobDefinition;

    const runDeps = {
      bucket: this.bucket,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      jobQueue: this.jobQueue,
      jobDefinition: this.jobDefinition,
    };
    this.functions = createRunFunctions(this, resolved, runDeps);
    this.submitterPolicy = createSubmitterPolicy(this, { ...runDeps, status: this.functions.status });

    const database = resolve(this, props.database);
    this.databaseLoader =
      database === undefined ? undefined : createDatabaseLoader(this, resolved, database, { bucket: this.bucket });

    this.outputs(this.functions.statusUrl);
  }

  /**
   * The outputs `submit aws --stack-outputs FILE` reads (the file `cdk deploy --outputs-file`
   * writes). Defined on the stack itself, so that each key is exactly its id.
   */
  private outputs(statusUrl: lambda.FunctionUrl): void {
    const out = (key: string, value: string, description: string) => new CfnOutput(this, key, { value, description });
    out("BucketName", this.bucket.bucketName, "S3 bucket of caches/ and runs/");
    out("QueueUrl", this.queue.queueUrl, "SQS queue of bins");
    out("DeadLetterQueueUrl", this.deadLetterQueue.queueUrl, "SQS dead-letter queue of bins received maxReceiveCount times");
    out("JobQueueArn", this.jobQueue.jobQueueArn, "AWS Batch job queue");
    out("JobDefinitionArn", this.jobDefinition.jobDefinitionArn, "AWS Batch job definition of one worker (drain)");
    out("StartFunctionName", this.functions.start.functionName, "Lambda run when a manifest.json lands under runs/");
    out("StatusFunctionName", this.functions.status.functionName, "Lambda returning a run's status as JSON");
    out("StatusFunctionUrl", statusUrl.url, "Function URL of the status Lambda (AWS_IAM auth: SigV4-signed requests)");
    out("SubmitterPolicyArn", this.submitterPolicy.managedPolicyArn, "Managed policy for the CLI's users");
    out("Region", this.region, "Region of the stack");
    if (this.databaseLoader !== undefined) {
      out("LoaderFunctionName", this.databaseLoader.loader.functionName, "Lambda loading each done bin into the database");
      out("LoaderSecurityGroupId", this.databaseLoader.securityGroup.securityGroupId, "Security group of the loader: allow it into the database");
    }
  }
}
