/**
 * The queue of bins shared by all runs (`{"v":1,"run":"s3://BUCKET/runs/NAME","bin":K}`) and
 * its dead-letter queue: a bin received maxReceiveCount times (its worker crashed, or it
 * threw, each time) moves there, and `redrive` moves it back.
 */
import { Duration } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/**
 * The contract with the worker's heartbeat: it extends a message's visibility to 300 s
 * every 100 s while the bin runs, so a worker that dies gives its bin back within 300 s.
 */
export const VISIBILITY_TIMEOUT_SECONDS = 300;
/** SQS's longest retention: a large run may wait days in the queue. */
const RETENTION = Duration.days(14);

export function createBinQueues(
  scope: Construct,
  opts: { kmsKey: kms.IKey | undefined; maxReceiveCount: number },
): { queue: sqs.Queue; deadLetterQueue: sqs.Queue } {
  const encryption =
    opts.kmsKey === undefined
      ? { encryption: sqs.QueueEncryption.SQS_MANAGED }
      : { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: opts.kmsKey };
  const deadLetterQueue = new sqs.Queue(scope, "DeadLetterQueue", {
    ...encryption,
    enforceSSL: true,
    retentionPeriod: RETENTION,
  });
  const queue = new sqs.Queue(scope, "BinQueue", {
    ...encryption,
    enforceSSL: true,
    retentionPeriod: RETENTION,
    visibilityTimeout: Duration.seconds(VISIBILITY_TIMEOUT_SECONDS),
    // Long polling by default: an idle worker costs one request per 20 s, not a busy loop.
    receiveMessageWaitTime: Duration.seconds(20),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: opts.maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}
