// Props that change the compute side (Fargate, on-demand, instance types, an existing VPC),
// the queue, the bucket's lifecycle; and props refused with a message naming them.
import { App, Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecs from "aws-cdk-lib/aws-ecs";
import type { Construct } from "constructs";
import { afterAll, describe, expect, it } from "vitest";
import { PropsError, type NblastFanoutStackProps } from "../../infra/props.ts";
import { NblastFanoutStack } from "../../infra/stack.ts";
import { checkNoS3OrSqsWildcards, onlyResource, resourcesOf, synth } from "./synth.ts";

// A registry image: these stacks need not stage the repository as the image's context.
const image = ecs.ContainerImage.fromRegistry("example.org/nblast-fanout:test");
const existingVpc = (scope: Construct) =>
  ec2.Vpc.fromVpcAttributes(scope, "ExistingVpc", {
    vpcId: "vpc-0e0e0e0e",
    availabilityZones: ["us-east-1a", "us-east-1b"],
    publicSubnetIds: ["subnet-0e0e0e01", "subnet-0e0e0e02"],
    publicSubnetRouteTableIds: ["rtb-0e0e0e01", "rtb-0e0e0e02"],
    privateSubnetIds: ["subnet-0e0e0e11", "subnet-0e0e0e12"],
    privateSubnetRouteTableIds: ["rtb-0e0e0e11", "rtb-0e0e0e12"],
  });

describe("Fargate Spot in an existing VPC's public subnets, with other queue and bucket settings", () => {
  const s = synth({
    image,
    compute: "fargate",
    workerVcpus: 4,
    workerMemoryMiB: 8192,
    maxVcpus: 64,
    vpc: existingVpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    maxReceiveCount: 5,
    attemptTimeout: Duration.hours(2),
    retryAttempts: 3,
    noncurrentVersionExpirationDays: 0,
  });
  afterAll(() => s.cleanup());
  const { json } = s;

  it("runs FARGATE_SPOT tasks with a public IP in the given subnets, and creates no VPC", () => {
    const ce = onlyResource(json, "AWS::Batch::ComputeEnvironment").resource.Properties.ComputeResources;
    expect(ce.Type).toBe("FARGATE_SPOT");
    expect(ce.MaxvCpus).toBe(64);
    expect(ce.Subnets).toEqual(["subnet-0e0e0e01", "subnet-0e0e0e02"]);
    expect(resourcesOf(json, "AWS::EC2::VPC")).toHaveLength(0);
    const jd = onlyResource(json, "AWS::Batch::JobDefinition").resource.Properties;
    expect(jd.PlatformCapabilities).toEqual(["FARGATE"]);
    expect(jd.ContainerProperties.NetworkConfiguration).toEqual({ AssignPublicIp: "ENABLED" });
    expect(jd.ContainerProperties.ResourceRequirements).toEqual(
      expect.arrayContaining([
        { Type: "VCPU", Value: "4" },
        { Type: "MEMORY", Value: "8192" },
      ]),
    );
    expect(jd.ContainerProperties.Command).toEqual(["drain"]);
    expect(jd.ContainerProperties.Image).toBe("example.org/nblast-fanout:test");
  });

  it("keeps the retry strategy and uses the given attempts, timeout and maxReceiveCount", () => {
    const jd = onlyResource(json, "AWS::Batch::JobDefinition").resource.Properties;
    expect(jd.RetryStrategy).toEqual({
      Attempts: 3,
      EvaluateOnExit: [
        { Action: "RETRY", OnStatusReason: "Host EC2*" },
        { Action: "EXIT", OnReason: "*" },
      ],
    });
    expect(jd.Timeout).toEqual({ AttemptDurationSeconds: 7200 });
    const q = onlyResource(json, "AWS::SQS::Queue", "BinQueue").resource.Properties;
    expect(q.RedrivePolicy.maxReceiveCount).toBe(5);
  });

  it("keeps noncurrent versions when asked (0 days): only the multipart rule is left", () => {
    const rules = onlyResource(json, "AWS::S3::Bucket").resource.Properties.LifecycleConfiguration.Rules;
    expect(rules.map((r: { Id: string }) => r.Id)).toEqual(["abort-incomplete-multipart-uploads"]);
  });

  it("has no S3 or SQS wildcard either", () => {
    expect(checkNoS3OrSqsWildcards(json)).toBeGreaterThan(5);
  });
});

describe("EC2 on-demand with chosen instance types", () => {
  const s = synth({ image, spot: false, instanceTypes: ["c6i", "c7a.4xlarge"], workerVcpus: 16, workerMemoryMiB: 30000 });
  afterAll(() => s.cleanup());

  it("an EC2 compute environment of exactly those types, best fit, never Batch's 'optimal'", () => {
    const ce = onlyResource(s.json, "AWS::Batch::ComputeEnvironment").resource.Properties.ComputeResources;
    expect(ce.Type).toBe("EC2");
    expect(ce.AllocationStrategy).toBe("BEST_FIT_PROGRESSIVE");
    expect([...ce.InstanceTypes].sort()).toEqual(["c6i", "c7a.4xlarge"]);
    const jd = onlyResource(s.json, "AWS::Batch::JobDefinition").resource.Properties;
    expect(jd.ContainerProperties.ResourceRequirements).toEqual(
      expect.arrayContaining([
        { Type: "VCPU", Value: "16" },
        { Type: "MEMORY", Value: "30000" },
      ]),
    );
  });
});

describe("props refused", () => {
  const refused: [NblastFanoutStackProps, RegExp][] = [
    [{ maxReceiveCount: 0 }, /^maxReceiveCount must be a whole number from 1 to 1000, not 0$/],
    [{ retryAttempts: 11 }, /^retryAttempts must be a whole number from 1 to 10, not 11$/],
    [{ maxVcpus: 2, workerVcpus: 4 }, /^maxVcpus \(2\) must be at least workerVcpus \(4\)$/],
    [{ attemptTimeout: Duration.seconds(30) }, /^attemptTimeout must be at least 60 seconds/],
    [{ compute: "fargate", workerVcpus: 3 }, /^workerVcpus on Fargate must be one of 0.25, 0.5, 1, 2, 4, 8, 16, not 3$/],
    [{ compute: "fargate", workerVcpus: 4, workerMemoryMiB: 7168 }, /^workerMemoryMiB on Fargate with 4 vCPUs must be 8192 to 30720 in steps of 1024, not 7168$/],
    [{ instanceTypes: [] }, /^instanceTypes must name at least one/],
    [{ instanceTypes: ["c6i large"] }, /^instanceTypes: "c6i large" is not an instance family/],
    [{ defaultWorkers: 10_001 }, /^defaultWorkers must be a whole number from 1 to 10000/],
    [{ vcpuHourPrice: -1 }, /^vcpuHourPrice must be a price of 0 or more/],
    [{ workerMemoryMiB: 100.5 }, /^workerMemoryMiB must be a whole number/],
  ];
  it.each(refused)("%o", (props, message) => {
    const app = new App();
    let thrown: unknown;
    try {
      new NblastFanoutStack(app, "Refused", { image, ...props });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PropsError);
    expect((thrown as Error).message).toMatch(message);
  });
});
