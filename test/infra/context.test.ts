// Context (-c key=value) to stack props: conversions, refusals naming the key, lookups.
import type { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { propsFromContext, readContext } from "../../infra/context.ts";
import { InputError } from "../../src/nblast/errors.ts";
import { onlyResource, resourcesOf, synth } from "./synth.ts";

const from = (ctx: Record<string, unknown>) => (key: string) => ctx[key];
const noEnv = {} as NodeJS.ProcessEnv;

function refusal(ctx: Record<string, unknown>, env = noEnv): string {
  try {
    propsFromContext(from(ctx), env);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(ctx)}`);
}

describe("values", () => {
  it("converts -c strings and takes JSON values as they are", () => {
    const fromCli = propsFromContext(
      from({ maxVcpus: "512", spot: "false", compute: "fargate", instanceTypes: "c6i, c7a.2xlarge", workerVcpus: "0.5", attemptTimeoutHours: "1.5", vcpuHourPrice: "0.012" }),
      noEnv,
    );
    expect(fromCli).toMatchObject({ maxVcpus: 512, spot: false, compute: "fargate", instanceTypes: ["c6i", "c7a.2xlarge"], workerVcpus: 0.5, vcpuHourPrice: 0.012 });
    expect(fromCli.attemptTimeout?.toMinutes()).toBe(90);
    const fromJson = propsFromContext(from({ maxVcpus: 512, spot: false, instanceTypes: ["c6i"], logRetentionDays: 7 }), noEnv);
    expect(fromJson).toMatchObject({ maxVcpus: 512, spot: false, instanceTypes: ["c6i"], logRetention: 7 });
  });

  it("stays environment-agnostic and lookup-free without vpcId or a database", () => {
    const props = propsFromContext(from({ maxVcpus: "64", kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab" }), noEnv);
    expect(props.env).toBeUndefined();
    expect(props.vpc).toBeUndefined();
    expect(typeof props.kmsKey).toBe("function");
  });

  it("ignores context it does not know (CDK's own flags live there too)", () => {
    expect(readContext(from({ "@aws-cdk/core:checkSecretUsage": true, maxVcpus: "8" }))).toEqual({ maxVcpus: 8 });
  });
});

describe("refusals name the key and say what it must be", () => {
  it.each([
    [{ maxVcpus: "lots" }, 'context maxVcpus="lots": must be a number'],
    [{ spot: "yes" }, 'context spot="yes": must be true or false'],
    [{ compute: "gpu" }, 'context compute="gpu": must be "ec2" or "fargate"'],
    [{ attemptTimeoutHours: "0" }, 'context attemptTimeoutHours="0": must be more than 0'],
    [{ logRetentionDays: "10" }, 'context logRetentionDays="10": must be one of CloudWatch\'s retention periods'],
    [{ vpcId: "my-vpc" }, 'context vpcId="my-vpc": must look like vpc-0123456789abcdef0'],
    [{ vpcId: "vpc-1", vpcSubnetIds: "subnet-1,sn-2" }, "must be subnet-... ids"],
    [{ kmsKeyArn: "alias/nblast" }, 'context kmsKeyArn="alias/nblast": must be an ARN arn:aws:kms:REGION:ACCOUNT:key/...'],
    [{ databaseSslMode: "prefer", databaseSecretArn: "x" }, 'context databaseSecretArn="x": must be an ARN'],
  ])("%o", (ctx, message) => {
    const m = refusal(ctx);
    expect(m.startsWith("-c: ")).toBe(true);
    expect(m).toContain(message);
  });

  it("refuses keys that need another one", () => {
    expect(refusal({ vpcSubnetIds: "subnet-1" })).toBe("-c: vpcSubnetIds needs vpcId");
    expect(refusal({ databaseSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf" })).toBe(
      "-c: a database needs both databaseSecretArn and databaseVpcId",
    );
    expect(refusal({ databasePort: "6432" })).toBe("-c: databasePort needs databaseSecretArn and databaseVpcId");
  });

  it("refuses a lookup without the account and region cdk takes from the credentials", () => {
    expect(refusal({ vpcId: "vpc-0123456789abcdef0" })).toMatch(/^-c: looking up vpcId or databaseVpcId needs AWS credentials and a region/);
  });
});

describe("lookups (vpcId, database) with an account and region", () => {
  // No credentials here: the lookups yield CDK's dummy VPC and are reported as missing
  // context, which is enough to see where their results go.
  const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf";
  const props = propsFromContext(
    from({
      vpcId: "vpc-0123456789abcdef0",
      databaseVpcId: "vpc-0456789abcdef0123",
      databaseSecretArn: SECRET_ARN,
      databaseSecurityGroupId: "sg-0789abcdef0123456",
      databasePort: "6432",
      databaseMaxConcurrency: "2",
    }),
    { CDK_DEFAULT_ACCOUNT: "123456789012", CDK_DEFAULT_REGION: "eu-west-1" } as NodeJS.ProcessEnv,
  );
  const s = synth(props);
  afterAll(() => s.cleanup());

  it("deploys into that account and region, creating no VPC", () => {
    expect(props.env).toEqual({ account: "123456789012", region: "eu-west-1" });
    expect(s.stack.region).toBe("eu-west-1");
    expect(resourcesOf(s.json, "AWS::EC2::VPC")).toHaveLength(0);
    // What `cdk` would look up with credentials: exactly the two VPCs named.
    const missing = (s.stack.node.root as App).synth().manifest.missing ?? [];
    const vpcIds = missing.filter((m) => m.provider === "vpc-provider").map((m) => (m.props as { filter: Record<string, string> }).filter["vpc-id"]);
    expect(vpcIds.sort()).toEqual(["vpc-0123456789abcdef0", "vpc-0456789abcdef0123"]);
  });

  it("gives the loader the secret, the port and the concurrency from context", () => {
    const loader = onlyResource(s.json, "AWS::Lambda::Function", "LoaderFunction").resource.Properties;
    expect(loader.Environment.Variables.DATABASE_SECRET_ARN).toBe(SECRET_ARN);
    expect(loader.ReservedConcurrentExecutions).toBe(2);
    s.template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", { GroupId: "sg-0789abcdef0123456", FromPort: 6432, ToPort: 6432 });
  });
});
