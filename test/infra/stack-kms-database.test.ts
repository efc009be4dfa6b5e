// The stack with a customer-managed KMS key and a database (loader Lambda), synthesized once.
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, describe, expect, it } from "vitest";
import { LOADER_TRIGGERS } from "../../infra/database-loader.ts";
import {
  allIdentityStatements,
  checkNoS3OrSqsWildcards,
  managedPolicyNamesOfRole,
  onlyResource,
  resourcesOf,
  roleOfFunction,
  s3AndSqsGrants,
  statementsOfRole,
  synth,
} from "./synth.ts";

const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:catmaid/nblast-loader-AbCdEf";

const s = synth({
  kmsKey: (scope) => kms.Key.fromKeyArn(scope, "Key", KEY_ARN),
  database: (scope) => ({
    secret: secretsmanager.Secret.fromSecretCompleteArn(scope, "DatabaseSecret", SECRET_ARN),
    vpc: ec2.Vpc.fromVpcAttributes(scope, "DatabaseVpc", {
      vpcId: "vpc-0d0d0d0d",
      availabilityZones: ["eu-west-1a", "eu-west-1b"],
      privateSubnetIds: ["subnet-0a0a0a0a", "subnet-0b0b0b0b"],
      privateSubnetRouteTableIds: ["rtb-0a0a0a0a", "rtb-0b0b0b0b"],
    }),
    databaseSecurityGroup: ec2.SecurityGroup.fromSecurityGroupId(scope, "DatabaseSecurityGroup", "sg-0d0d0d0d"),
    createVpcEndpoints: true,
  }),
}, { bundle: true });
afterAll(() => s.cleanup());
const { json, template } = s;
const bucketId = onlyResource(json, "AWS::S3::Bucket").id;
const B = `\${${bucketId}.Arn}`;
const listRuns = ` if ${JSON.stringify({ StringLike: { "s3:prefix": ["runs/*"] } })}`;

describe("with a KMS key", () => {
  it("the bucket is encrypted with it, with a bucket key", () => {
    expect(json.Resources[bucketId].Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KEY_ARN } },
    ]);
  });

  it("both queues are encrypted with it", () => {
    const queues = resourcesOf(json, "AWS::SQS::Queue");
    expect(queues).toHaveLength(2);
    for (const [, q] of queues) {
      expect(q.Properties.KmsMasterKeyId).toBe(KEY_ARN);
      expect(q.Properties.SqsManagedSseEnabled).toBeUndefined();
    }
  });

  it("the worker may use the key to read and write objects and messages, and nothing else of KMS", () => {
    const workerRoleId = onlyResource(json, "AWS::IAM::Role", "WorkerRole").id;
    const kmsStatements = statementsOfRole(json, workerRoleId).filter((st) => st.actions.some((a) => a.startsWith("kms:")));
    expect(new Set(kmsStatements.flatMap((st) => st.resources))).toEqual(new Set([KEY_ARN]));
    expect(new Set(kmsStatements.flatMap((st) => st.actions))).toEqual(new Set(["kms:Decrypt", "kms:GenerateDataKey"]));
  });

  it("no S3 or SQS statement has a wildcard, with the key's grants added", () => {
    expect(checkNoS3OrSqsWildcards(json)).toBeGreaterThan(5);
  });
});

describe("with a database", () => {
  const loaderId = onlyResource(json, "AWS::Lambda::Function", "LoaderFunction").id;
  const loader = json.Resources[loaderId].Properties;
  const loaderSgId = onlyResource(json, "AWS::EC2::SecurityGroup", "LoaderSecurityGroup").id;

  it("the loader runs Node.js 22 in the database's VPC, at most 4 at once", () => {
    expect(loader.Runtime).toBe("nodejs22.x");
    expect(loader.VpcConfig).toEqual({
      SubnetIds: ["subnet-0a0a0a0a", "subnet-0b0b0b0b"],
      SecurityGroupIds: [{ "Fn::GetAtt": [loaderSgId, "GroupId"] }],
    });
    expect(loader.ReservedConcurrentExecutions).toBe(4);
    expect(loader.Environment.Variables).toEqual({
      BUCKET: { Ref: bucketId },
      DATABASE_SECRET_ARN: SECRET_ARN,
      PGSSLMODE: "require",
      NODE_OPTIONS: "--enable-source-maps",
    });
  });

  it("each done marker triggers the loader; no two S3 filters overlap (S3 refuses overlapping ones)", () => {
    const configs = onlyResource(json, "Custom::S3BucketNotifications").resource.Properties.NotificationConfiguration
      .LambdaFunctionConfigurations as { Filter: { Key: { FilterRules: { Name: string; Value: string }[] } }; LambdaFunctionArn: unknown }[];
    const filters = configs.map((c) => {
      const rule = (name: string) => c.Filter.Key.FilterRules.find((r) => r.Name === name)?.Value ?? "";
      return { prefix: rule("prefix"), suffix: rule("suffix"), fn: c.LambdaFunctionArn };
    });
    const toLoader = filters.filter((f) => JSON.stringify(f.fn) === JSON.stringify({ "Fn::GetAtt": [loaderId, "Arn"] }));
    expect(toLoader.map(({ prefix, suffix }) => ({ prefix, suffix }))).toEqual([...LOADER_TRIGGERS]);
    expect(filters).toHaveLength(11);
    for (let i = 0; i < filters.length; i++) {
      for (let j = i + 1; j < filters.length; j++) {
        const [a, b] = [filters[i], filters[j]];
        const prefixesOverlap = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
        const suffixesOverlap = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
        expect(prefixesOverlap && suffixesOverlap, `${a.suffix} and ${b.suffix}`).toBe(false);
      }
    }
    // Every done marker matches one of them: runs/<name>/done/<K>.json for any bin K.
    for (const key of ["runs/a/done/0.json", "runs/b/done/17.json", "runs/c/done/12345.json"]) {
      expect(toLoader.filter((f) => key.startsWith(f.prefix) && key.endsWith(f.suffix))).toHaveLength(1);
    }
    expect(toLoader.some((f) => "runs/a/manifest.json".endsWith(f.suffix))).toBe(false);
  });

  it("the loader reads runs/ and the secret, nothing more", () => {
    const roleId = roleOfFunction(json, "LoaderFunction");
    const statements = statementsOfRole(json, roleId);
    expect(s3AndSqsGrants(statements)).toEqual([`Allow s3:GetObject ${B}/runs/*`, `Allow s3:ListBucket ${B}${listRuns}`].sort());
    const secret = statements.filter((st) => st.actions.some((a) => a.startsWith("secretsmanager:")));
    expect(secret.flatMap((st) => st.actions).sort()).toEqual(["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
    expect(secret.flatMap((st) => st.resources)).toEqual([SECRET_ARN]);
    const other = statements.flatMap((st) => st.actions).filter((a) => !/^(s3|secretsmanager|kms):/.test(a));
    expect(other).toEqual([]);
    expect(managedPolicyNamesOfRole(json, roleId).sort()).toEqual(["service-role/AWSLambdaBasicExecutionRole", "service-role/AWSLambdaVPCAccessExecutionRole"]);
  });

  it("no one but the loader may read the secret: not the workers, not the other Lambdas, not the submitters", () => {
    const loaderPolicies = new Set(
      resourcesOf(json, "AWS::IAM::Policy")
        .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleOfFunction(json, "LoaderFunction")))
        .map(([id]) => id),
    );
    const readers = allIdentityStatements(json).filter((st) => st.actions.some((a) => a.startsWith("secretsmanager:")) || st.resources.includes(SECRET_ARN));
    expect(readers.length).toBeGreaterThan(0);
    for (const st of readers) expect(loaderPolicies.has(st.policy), st.policy).toBe(true);
    const jd = onlyResource(json, "AWS::Batch::JobDefinition").resource.Properties.ContainerProperties;
    expect(jd.Secrets).toBeUndefined();
    expect(JSON.stringify(jd)).not.toContain("secretsmanager");
    expect(JSON.stringify(jd)).not.toContain("DATABASE");
  });

  it("the database's security group lets the loader in on 5432", () => {
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      GroupId: "sg-0d0d0d0d",
      IpProtocol: "tcp",
      FromPort: 5432,
      ToPort: 5432,
      SourceSecurityGroupId: { "Fn::GetAtt": [loaderSgId, "GroupId"] },
    });
  });

  it("the database's VPC gets an S3 gateway endpoint and a Secrets Manager endpoint open to the loader alone", () => {
    const endpoints = resourcesOf(json, "AWS::EC2::VPCEndpoint").filter(([, e]) => e.Properties.VpcId === "vpc-0d0d0d0d");
    const types = endpoints.map(([, e]) => e.Properties.VpcEndpointType).sort();
    expect(types).toEqual(["Gateway", "Interface"]);
    const gateway = endpoints.find(([, e]) => e.Properties.VpcEndpointType === "Gateway")?.[1];
    expect(gateway.Properties.RouteTableIds).toEqual(["rtb-0a0a0a0a", "rtb-0b0b0b0b"]);
    const iface = endpoints.find(([, e]) => e.Properties.VpcEndpointType === "Interface")?.[1];
    expect(JSON.stringify(iface.Properties.ServiceName)).toContain("secretsmanager");
    const sgId = iface.Properties.SecurityGroupIds[0]["Fn::GetAtt"][0];
    expect(json.Resources[sgId].Properties.SecurityGroupIngress).toBeUndefined(); // open: false
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      GroupId: { "Fn::GetAtt": [sgId, "GroupId"] },
      FromPort: 443,
      SourceSecurityGroupId: { "Fn::GetAtt": [loaderSgId, "GroupId"] },
    });
  });

  it("every handler (start, status, loader) is bundled by esbuild into an ES module", () => {
    const assets = JSON.parse(readFileSync(path.join(s.outdir, "NblastFanoutStack.assets.json"), "utf8"));
    const files = assets.files as Record<string, { source: { path: string; packaging: string } }>;
    for (const prefix of ["StartFunction", "StatusFunction", "LoaderFunction"]) {
      const fn = onlyResource(json, "AWS::Lambda::Function", prefix).resource.Properties;
      const key: string = fn.Code.S3Key;
      const asset = files[key.replace(/\.zip$/, "")];
      expect(asset, prefix).toBeDefined();
      const bundle = readFileSync(path.join(s.outdir, asset.source.path, "index.mjs"), "utf8");
      expect(bundle).toContain("createRequire"); // the banner: an ES module that can require()
      expect(existsSync(path.join(s.outdir, asset.source.path, "index.mjs.map"))).toBe(true);
    }
  });

  it("outputs the loader's name and security group", () => {
    expect(json.Outputs.LoaderFunctionName.Value).toEqual({ Ref: loaderId });
    expect(json.Outputs.LoaderSecurityGroupId.Value).toEqual({ "Fn::GetAtt": [loaderSgId, "GroupId"] });
  });
});
