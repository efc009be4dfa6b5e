/**
 * Where the workers run. A new VPC has public subnets only: no NAT gateway (about $33 a
 * month per AZ at rest, plus $0.045 per GB through it), no interface endpoints (about $7 a
 * month each per AZ; workers would need seven of them: ECS agent, telemetry, ECR api and
 * dkr, logs, SQS, STS). Workers get a public IP (AWS bills $0.005 an hour per public IPv4
 * address, only while an instance runs) and a security group with no inbound rule; S3
 * traffic goes through a gateway endpoint, which is free and keeps it off the internet.
 */
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type { Construct } from "constructs";

export interface WorkerNetwork {
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection | undefined;
  /** Fargate tasks need a public IP to reach ECR, SQS and logs from a public subnet. */
  readonly assignPublicIp: boolean;
}

export function workerNetwork(
  scope: Construct,
  opts: { vpc: ec2.IVpc | undefined; vpcSubnets: ec2.SubnetSelection | undefined },
): WorkerNetwork {
  if (opts.vpc !== undefined) {
    return {
      vpc: opts.vpc,
      vpcSubnets: opts.vpcSubnets,
      assignPublicIp: opts.vpcSubnets?.subnetType === ec2.SubnetType.PUBLIC,
    };
  }
  const vpc = new ec2.Vpc(scope, "Vpc", {
    natGateways: 0,
    subnetConfiguration: [{ name: "workers", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
    gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
  });
  return { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, assignPublicIp: true };
}
