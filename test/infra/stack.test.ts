// The default stack (EC2 Spot, S3- and SQS-managed encryption, no database), synthesized once.
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { Match } from "aws-cdk-lib/assertions";
import { afterAll, describe, expect, it } from "vitest";
import { VISIBILITY_TIMEOUT_SECONDS } from "../../infra/bin-queues.ts";
import {
  allIdentityStatements,
  checkNoS3OrSqsWildcards,
  managedPolicyNamesOfRole,
  onlyResource,
  render,
  resourcesOf,
  roleOfFunction,
  s3AndSqsGrants,
  statementsOfRole,
  synth,
} from "./synth.ts";

const s = synth();
afterAll(() => s.cleanup());
const { template, json } = s;

const bucketId = onlyResource(json, "AWS::S3::Bucket").id;
const queueId = onlyResource(json, "AWS::SQS::Queue", "BinQueue").id;
const dlqId = onlyResource(json, "AWS::SQS::Queue", "DeadLetterQueue").id;
const B = `\${${bucketId}.Arn}`;
const Q = `\${${queueId}.Arn}`;
const DLQ = `\${${dlqId}.Arn}`;

describe("bucket", () => {
  const bucket = json.Resources[bucketId];

  it("blocks every kind of public access and enforces bucket-owner object ownership", () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: "BucketOwnerEnforced" }]);
  });

  it("is encrypted with S3-managed keys by default", () => {
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
    ]);
  });

  it("is versioned and kept when the stack is deleted", () => {
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
    expect(bucket.DeletionPolicy).toBe("Retain");
    expect(bucket.UpdateReplacePolicy).toBe("Retain");
  });

  it("aborts incomplete multipart uploads and expires noncurrent versions after 30 days", () => {
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      { Id: "abort-incomplete-multipart-uploads", Status: "Enabled", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
      { Id: "expire-noncurrent-versions", Status: "Enabled", NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true },
    ]);
  });

  it("denies every request without TLS, and TLS older than 1.2, on the bucket and its objects", () => {
    const { resource } = onlyResource(json, "AWS::S3::BucketPolicy");
    expect(resource.Properties.Bucket).toEqual({ Ref: bucketId });
    const denies = (resource.Properties.PolicyDocument.Statement as { Effect: string; Condition: unknown; Resource: unknown[] }[])
      .filter((st) => st.Effect === "Deny")
      .map((st) => ({ condition: st.Condition, resources: st.Resource.map(render).sort() }));
    expect(denies).toContainEqual({ condition: { Bool: { "aws:SecureTransport": "false" } }, resources: [B, `${B}/*`] });
    expect(denies).toContainEqual({ condition: { NumericLessThan: { "s3:TlsVersion": 1.2 } }, resources: [B, `${B}/*`] });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Action: "s3:*", Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });
});

describe("queues", () => {
  it("the bin queue dead-letters a message after 3 receives, with the worker's visibility timeout", () => {
    const q = json.Resources[queueId].Properties;
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] }, maxReceiveCount: 3 });
    expect(q.VisibilityTimeout).toBe(VISIBILITY_TIMEOUT_SECONDS);
    expect(VISIBILITY_TIMEOUT_SECONDS).toBe(300); // the contract with the worker's heartbeat
    expect(q.ReceiveMessageWaitTimeSeconds).toBe(20);
    expect(q.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it("both queues are encrypted (SQS-managed keys by default) and refuse requests without TLS", () => {
    for (const id of [queueId, dlqId]) {
      expect(json.Resources[id].Properties.SqsManagedSseEnabled).toBe(true);
      const policies = resourcesOf(json, "AWS::SQS::QueuePolicy").filter(([, p]) => p.Properties.Queues.some((x: { Ref: string }) => x.Ref === id));
      expect(policies).toHaveLength(1);
      expect(policies[0][1].Properties.PolicyDocument.Statement).toContainEqual({
        Action: "sqs:*",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
        Effect: "Deny",
        Principal: { AWS: "*" },
        Resource: { "Fn::GetAtt": [id, "Arn"] },
      });
    }
  });
});

describe("batch", () => {
  it("a managed Spot compute environment, SPOT_PRICE_CAPACITY_OPTIMIZED, scaling from 0 to 256 vCPUs", () => {
    const ce = onlyResource(json, "AWS::Batch::ComputeEnvironment").resource.Properties;
    expect(ce.Type).toBe("managed");
    expect(ce.ComputeResources).toMatchObject({
      Type: "SPOT",
      AllocationStrategy: "SPOT_PRICE_CAPACITY_OPTIMIZED",
      MinvCpus: 0,
      MaxvCpus: 256,
      InstanceTypes: ["default_x86_64"],
      Ec2Configuration: [{ ImageType: "ECS_AL2023" }],
    });
  });

  it("workers' instances allow IMDSv2 only, one hop (containers cannot borrow the instance role)", () => {
    const lt = onlyResource(json, "AWS::EC2::LaunchTemplate").resource.Properties.LaunchTemplateData;
    expect(lt.MetadataOptions).toEqual({ HttpTokens: "required", HttpPutResponseHopLimit: 1 });
    expect(lt.UserData).toBeUndefined(); // Batch would need MIME multi-part user data
  });

  it("the job definition runs `drain` on the bin queue, retries only Host EC2 failures, and times out each attempt", () => {
    const jd = onlyResource(json, "AWS::Batch::JobDefinition").resource.Properties;
    expect(jd.RetryStrategy).toEqual({
      Attempts: 5,
      EvaluateOnExit: [
        { Action: "RETRY", OnStatusReason: "Host EC2*" },
        { Action: "EXIT", OnReason: "*" },
      ],
    });
    expect(jd.Timeout).toEqual({ AttemptDurationSeconds: 12 * 3600 });
    expect(jd.PlatformCapabilities).toEqual(["EC2"]);
    const c = jd.ContainerProperties;
    expect(c.Command).toEqual(["drain"]);
    expect(c.Environment).toContainEqual({ Name: "NBLAST_FANOUT_QUEUE_URL", Value: { Ref: queueId } });
    expect(c.ResourceRequirements).toEqual(
      expect.arrayContaining([
        { Type: "VCPU", Value: "4" },
        { Type: "MEMORY", Value: "7168" },
      ]),
    );
    expect(c.Environment.map((e: { Name: string }) => e.Name).sort()).toEqual(["AWS_REGION", "NBLAST_FANOUT_QUEUE_URL"]);
  });

  it("the job queue feeds the compute environment", () => {
    const ceId = onlyResource(json, "AWS::Batch::ComputeEnvironment").id;
    const jq = onlyResource(json, "AWS::Batch::JobQueue").resource.Properties;
    expect(jq.ComputeEnvironmentOrder).toEqual([{ ComputeEnvironment: { "Fn::GetAtt": [ceId, "ComputeEnvironmentArn"] }, Order: 1 }]);
  });

  it("the image is built from container/Dockerfile with the repository as its context, for x86-64", () => {
    const assets = JSON.parse(readFileSync(path.join(s.outdir, "NblastFanoutStack.assets.json"), "utf8"));
    const images = Object.values(assets.dockerImages) as { source: { directory: string; dockerFile: string; platform: string } }[];
    expect(images).toHaveLength(1);
    expect(images[0].source.dockerFile).toBe("container/Dockerfile");
    expect(images[0].source.platform).toBe("linux/amd64");
    // The staged context holds the sources the image needs, and not node_modules.
    const staged = path.join(s.outdir, images[0].source.directory);
    for (const f of ["package.json", "package-lock.json", "src", "bin", "container/Dockerfile"]) expect(existsSync(path.join(staged, f)), f).toBe(true);
    for (const f of ["node_modules", ".git", "cdk.out"]) expect(existsSync(path.join(staged, f)), f).toBe(false);
    const jd = onlyResource(json, "AWS::Batch::JobDefinition").resource.Properties;
    expect(render(jd.ContainerProperties.Image)).toMatch(/container-assets.*:[0-9a-f]{64}$/);
  });
});

describe("network", () => {
  it("a new VPC has public subnets only: no NAT gateway, an S3 gateway endpoint", () => {
    expect(resourcesOf(json, "AWS::EC2::NatGateway")).toHaveLength(0);
    expect(resourcesOf(json, "AWS::EC2::EIP")).toHaveLength(0);
    const subnets = resourcesOf(json, "AWS::EC2::Subnet");
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    for (const [, sn] of subnets) expect(sn.Properties.MapPublicIpOnLaunch).toBe(true);
    const endpoints = resourcesOf(json, "AWS::EC2::VPCEndpoint");
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0][1].Properties.VpcEndpointType).toBe("Gateway");
    expect(render(endpoints[0][1].Properties.ServiceName)).toMatch(/\.s3$/);
  });

  it("the workers' security group lets nothing in", () => {
    const ce = onlyResource(json, "AWS::Batch::ComputeEnvironment").resource.Properties;
    const sgId = ce.ComputeResources.SecurityGroupIds[0]["Fn::GetAtt"][0];
    expect(json.Resources[sgId].Properties.SecurityGroupIngress).toBeUndefined();
    expect(resourcesOf(json, "AWS::EC2::SecurityGroupIngress")).toHaveLength(0);
  });
});

describe("lambdas", () => {
  it("every Node.js function runs Node.js 22 or newer; the stack's own are bundled ES modules on arm64", () => {
    const fns = resourcesOf(json, "AWS::Lambda::Function");
    for (const [, fn] of fns) {
      const runtime: string = fn.Properties.Runtime;
      // CDK's bucket-notification helper is Python; every other function is Node.js.
      if (runtime.startsWith("python")) continue;
      expect(runtime).toMatch(/^nodejs\d+\.x$/);
      expect(Number(/^nodejs(\d+)/.exec(runtime)?.[1])).toBeGreaterThanOrEqual(22);
    }
    for (const prefix of ["StartFunction", "StatusFunction"]) {
      const fn = onlyResource(json, "AWS::Lambda::Function", prefix).resource.Properties;
      expect(fn.Runtime).toBe("nodejs22.x");
      expect(fn.Architectures).toEqual(["arm64"]);
      expect(fn.Handler).toBe("index.handler");
      expect(fn.Environment.Variables.NODE_OPTIONS).toBe("--enable-source-maps");
    }
  });

  it("start runs when a manifest.json is created under runs/, and only then", () => {
    const startId = onlyResource(json, "AWS::Lambda::Function", "StartFunction").id;
    const { resource } = onlyResource(json, "Custom::S3BucketNotifications");
    expect(resource.Properties.BucketName).toEqual({ Ref: bucketId });
    expect(resource.Properties.NotificationConfiguration).toEqual({
      LambdaFunctionConfigurations: [
        {
          Events: ["s3:ObjectCreated:*"],
          Filter: { Key: { FilterRules: expect.arrayContaining([{ Name: "prefix", Value: "runs/" }, { Name: "suffix", Value: "manifest.json" }]) } },
          LambdaFunctionArn: { "Fn::GetAtt": [startId, "Arn"] },
        },
      ],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "s3.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [startId, "Arn"] },
      SourceArn: { "Fn::GetAtt": [bucketId, "Arn"] },
    });
  });

  it("start and status get the environment of the contract", () => {
    const start = onlyResource(json, "AWS::Lambda::Function", "StartFunction").resource.Properties.Environment.Variables;
    expect(Object.keys(start).sort()).toEqual(["BUCKET", "DEFAULT_WORKERS", "DLQ_URL", "JOB_DEFINITION", "JOB_QUEUE", "NODE_OPTIONS", "QUEUE_URL"]);
    expect(start.DEFAULT_WORKERS).toBe("100");
    expect(start.QUEUE_URL).toEqual({ Ref: queueId });
    expect(start.DLQ_URL).toEqual({ Ref: dlqId });
    expect(start.BUCKET).toEqual({ Ref: bucketId });
    const status = onlyResource(json, "AWS::Lambda::Function", "StatusFunction").resource.Properties.Environment.Variables;
    expect(Object.keys(status).sort()).toEqual(["BUCKET", "DLQ_URL", "JOB_QUEUE", "NODE_OPTIONS", "QUEUE_URL"]);
  });

  it("status has a function URL that needs SigV4 (AWS_IAM), never public", () => {
    const statusId = onlyResource(json, "AWS::Lambda::Function", "StatusFunction").id;
    const urls = resourcesOf(json, "AWS::Lambda::Url");
    expect(urls).toHaveLength(1);
    expect(urls[0][1].Properties).toEqual({ AuthType: "AWS_IAM", TargetFunctionArn: { "Fn::GetAtt": [statusId, "Arn"] } });
    for (const [, p] of resourcesOf(json, "AWS::Lambda::Permission")) expect(p.Properties.Principal).not.toBe("*");
  });
});

describe("least privilege", () => {
  const workerRoleId = onlyResource(json, "AWS::IAM::Role", "WorkerRole").id;
  const jobDefinitionId = onlyResource(json, "AWS::Batch::JobDefinition").id;
  const jobQueueId = onlyResource(json, "AWS::Batch::JobQueue").id;
  const listIf = (prefixes: string[]) => ` if ${JSON.stringify({ StringLike: { "s3:prefix": prefixes } })}`;

  it("no identity statement has a wildcard in an S3 or SQS action, nor a `*` resource, nor a whole-bucket object ARN", () => {
    expect(checkNoS3OrSqsWildcards(json)).toBeGreaterThan(5);
  });

  it("the worker reads caches/ and runs/, writes runs/, consumes only the bin queue, and nothing else", () => {
    const statements = statementsOfRole(json, workerRoleId);
    expect(s3AndSqsGrants(statements)).toEqual(
      [
        `Allow s3:GetObject ${B}/caches/*`,
        `Allow s3:GetObject ${B}/runs/*`,
        `Allow s3:ListBucket ${B}${listIf(["caches/*", "runs/*"])}`,
        `Allow s3:PutObject ${B}/runs/*`,
        `Allow s3:AbortMultipartUpload ${B}/runs/*`,
        `Allow s3:DeleteObject ${B}/runs/*`,
        ...["ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl", "ReceiveMessage"].map((a) => `Allow sqs:${a} ${Q}`),
      ].sort(),
    );
    // Nothing but S3 and SQS: no Batch, no Lambda, no secret.
    expect(statements.flatMap((st) => st.actions).filter((a) => !/^(s3|sqs):/.test(a))).toEqual([]);
    expect(managedPolicyNamesOfRole(json, workerRoleId)).toEqual([]);
    const jd = json.Resources[jobDefinitionId].Properties.ContainerProperties;
    expect(jd.JobRoleArn).toEqual({ "Fn::GetAtt": [workerRoleId, "Arn"] });
  });

  it("the job's execution role only pulls the image and writes the worker's logs", () => {
    const execRoleId = json.Resources[jobDefinitionId].Properties.ContainerProperties.ExecutionRoleArn["Fn::GetAtt"][0];
    const actions = statementsOfRole(json, execRoleId).flatMap((st) => st.actions).sort();
    expect(actions).toEqual(
      ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer", "logs:CreateLogStream", "logs:PutLogEvents"].sort(),
    );
  });

  it("start reads and writes runs/, sends to the bin queue, and submits only this job definition to this job queue", () => {
    const statements = statementsOfRole(json, roleOfFunction(json, "StartFunction"));
    expect(s3AndSqsGrants(statements)).toEqual(
      [
        `Allow s3:GetObject ${B}/runs/*`,
        `Allow s3:ListBucket ${B}${listIf(["runs/*"])}`,
        `Allow s3:PutObject ${B}/runs/*`,
        `Allow s3:AbortMultipartUpload ${B}/runs/*`,
        `Allow sqs:SendMessage ${Q}`,
        `Allow sqs:GetQueueAttributes ${Q}`,
        `Allow sqs:GetQueueUrl ${Q}`,
        `Allow sqs:GetQueueAttributes ${DLQ}`,
      ].sort(),
    );
    const batch = statements.filter((st) => st.actions.some((a) => a.startsWith("batch:")));
    expect(batch).toHaveLength(1);
    expect(batch[0].actions).toEqual(["batch:SubmitJob"]);
    expect(batch[0].resources.sort()).toEqual([`\${${jobDefinitionId}}`, `\${${jobQueueId}.JobQueueArn}`].sort());
  });

  it("status reads runs/, the queues' attributes, and describes jobs (Batch has no resource type for that)", () => {
    const statements = statementsOfRole(json, roleOfFunction(json, "StatusFunction"));
    expect(s3AndSqsGrants(statements)).toEqual(
      [`Allow s3:GetObject ${B}/runs/*`, `Allow s3:ListBucket ${B}${listIf(["runs/*"])}`, `Allow sqs:GetQueueAttributes ${Q}`, `Allow sqs:GetQueueAttributes ${DLQ}`].sort(),
    );
    const other = statements.filter((st) => st.actions.some((a) => !/^(s3|sqs):/.test(a)));
    expect(other.map((st) => ({ actions: st.actions, resources: st.resources }))).toEqual([
      { actions: ["batch:DescribeJobs", "batch:ListJobs"], resources: ["*"] },
    ]);
  });

  it("the submitters' managed policy may submit only this job definition to this job queue", () => {
    const { resource } = onlyResource(json, "AWS::IAM::ManagedPolicy", "SubmitterPolicy");
    const statements = allIdentityStatements(json).filter((st) => st.policy.startsWith("SubmitterPolicy"));
    const submit = statements.filter((st) => st.actions.includes("batch:SubmitJob"));
    expect(submit).toHaveLength(1);
    expect(submit[0].actions).toEqual(["batch:SubmitJob"]);
    expect(submit[0].resources.sort()).toEqual([`\${${jobDefinitionId}}`, `\${${jobQueueId}.JobQueueArn}`].sort());
    // Terminating is scoped to this account's and region's jobs; nothing else Batch but reads.
    const batchActions = statements.flatMap((st) => st.actions.filter((a) => a.startsWith("batch:"))).sort();
    expect(batchActions).toEqual(["batch:CancelJob", "batch:DescribeJobs", "batch:ListJobs", "batch:SubmitJob", "batch:TerminateJob"]);
    const terminate = statements.find((st) => st.actions.includes("batch:TerminateJob"));
    expect(terminate?.resources).toEqual(["arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job/*"]);
    expect(resource.Properties.Roles ?? []).toEqual([]);
    expect(render(json.Outputs.SubmitterPolicyArn.Value)).toBe(`\${${onlyResource(json, "AWS::IAM::ManagedPolicy", "SubmitterPolicy").id}}`);
  });

  it("no statement of the stack allows an IAM or secretsmanager action (there is no database)", () => {
    const actions = allIdentityStatements(json).flatMap((st) => st.actions);
    expect(actions.filter((a) => /^(iam|secretsmanager|sts):/.test(a))).toEqual([]);
  });
});

describe("outputs", () => {
  it("has every key of the contract, plus the status URL and the submitters' policy", () => {
    expect(Object.keys(json.Outputs).sort()).toEqual(
      [
        "BucketName",
        "QueueUrl",
        "DeadLetterQueueUrl",
        "JobQueueArn",
        "JobDefinitionArn",
        "StartFunctionName",
        "StatusFunctionName",
        "Region",
        "StatusFunctionUrl",
        "SubmitterPolicyArn",
      ].sort(),
    );
    expect(json.Outputs.BucketName.Value).toEqual({ Ref: bucketId });
    expect(json.Outputs.QueueUrl.Value).toEqual({ Ref: queueId });
    expect(json.Outputs.DeadLetterQueueUrl.Value).toEqual({ Ref: dlqId });
    expect(json.Outputs.Region.Value).toEqual({ Ref: "AWS::Region" });
  });
});
