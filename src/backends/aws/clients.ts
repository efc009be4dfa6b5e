/**
 * SQS and Batch clients configured as AWS users expect: credentials from the SDK's default
 * chain (environment, AWS_PROFILE and ~/.aws, SSO, the container's or Lambda's role), the
 * region from AWS_REGION, else the stack's own region (from its outputs or a queue URL),
 * else the profile's; endpoint overrides from AWS_ENDPOINT_URL_<SERVICE> or
 * AWS_ENDPOINT_URL (emulators such as moto and fauxqs). Nothing here is ever logged.
 * S3 goes through src/storage (createS3ClientFromEnv), with the same rules.
 */
import { BatchClient } from "@aws-sdk/client-batch";
import { SQSClient } from "@aws-sdk/client-sqs";

export interface AwsClients {
  readonly sqs: SQSClient;
  readonly batch: BatchClient;
}

/** The region a queue URL names: https://sqs.<region>.amazonaws.com/<account>/<name>. */
export function regionOfQueueUrl(url: string): string | undefined {
  return /^https:\/\/sqs[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?\//.exec(url)?.[1];
}

function endpointFor(service: "SQS" | "BATCH", env: NodeJS.ProcessEnv): string | undefined {
  if (/^true$/i.test(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "")) return undefined;
  return env[`AWS_ENDPOINT_URL_${service}`] || env.AWS_ENDPOINT_URL || undefined;
}

function regionFor(env: NodeJS.ProcessEnv, hint: string | undefined): string | undefined {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || hint || undefined;
}

export function createSqsClient(regionHint?: string, env: NodeJS.ProcessEnv = process.env): SQSClient {
  const endpoint = endpointFor("SQS", env);
  return new SQSClient({ region: regionFor(env, regionHint), ...(endpoint === undefined ? {} : { endpoint }) });
}

export function createBatchClient(regionHint?: string, env: NodeJS.ProcessEnv = process.env): BatchClient {
  const endpoint = endpointFor("BATCH", env);
  return new BatchClient({ region: regionFor(env, regionHint), ...(endpoint === undefined ? {} : { endpoint }) });
}

export function createAwsClients(regionHint?: string, env: NodeJS.ProcessEnv = process.env): AwsClients {
  return { sqs: createSqsClient(regionHint, env), batch: createBatchClient(regionHint, env) };
}
