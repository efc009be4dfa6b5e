/**
 * The optional database loader (issue 11): a Lambda in the database's VPC, triggered by
 * each done marker, loads that bin into Postgres. The database secret is readable by this
 * function alone: no worker ever holds database credentials.
 *
 * S3 filters have only a prefix and a suffix, and S3 refuses two filters of one event type
 * that overlap (a ".json" suffix would overlap the start trigger's "manifest.json"). Done
 * markers are `runs/<name>/done/<K>.json` with K a decimal bin number, so the loader has
 * ten filters, suffixes "0.json" to "9.json": none overlaps "manifest.json" or another.
 * Failed markers (`failed/<K>.json`) match them too; the handler loads only done markers.
 */
import { Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import type { Construct } from "constructs";
import { RUNS, grantReadPrefixes } from "./grants.ts";
import { handlerFunction } from "./node-function.ts";
import { DEFAULTS, PropsError, type NblastDatabaseProps, type ResolvedProps } from "./props.ts";

export const LOADER_TRIGGERS: readonly { prefix: string; suffix: string }[] = Array.from({ length: 10 }, (_, d) => ({
  prefix: "runs/",
  suffix: `${d}.json`,
}));

export interface DatabaseLoader {
  readonly loader: nodejs.NodejsFunction;
  readonly securityGroup: ec2.ISecurityGroup;
}

export function createDatabaseLoader(
  scope: Construct,
  props: ResolvedProps,
  db: NblastDatabaseProps,
  deps: { bucket: s3.Bucket },
): DatabaseLoader {
  const port = db.port ?? DEFAULTS.database.port;
  const maxConcurrency = db.maxConcurrency ?? DEFAULTS.database.maxConcurrency;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PropsError(`database.port must be a TCP port, not ${port}`);
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 1000) {
    throw new PropsError(`database.maxConcurrency must be a whole number from 1 to 1000, not ${maxConcurrency}`);
  }
  const vpcSubnets = db.vpcSubnets ?? { subnetType: privateSubnetType(db.vpc) };
  const securityGroup =
    db.securityGroup ??
    new ec2.SecurityGroup(scope, "LoaderSecurityGroup", {
      vpc: db.vpc,
      description: "nblast-fanout database loader (outbound to the database, S3, Secrets Manager)",
      allowAllOutbound: true,
    });
  db.databaseSecurityGroup?.addIngressRule(securityGroup, ec2.Port.tcp(port), "nblast-fanout database loader");
  if (db.createVpcEndpoints === true) {
    db.vpc.addGatewayEndpoint("LoaderS3Endpoint", { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [vpcSubnets] });
    const secrets = db.vpc.addInterfaceEndpoint("LoaderSecretsManagerEndpoint", {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: vpcSubnets,
      open: false,
    });
    secrets.connections.allowDefaultPortFrom(securityGroup, "nblast-fanout database loader");
  }

  const loader = handlerFunction(scope, "LoaderFunction", {
    handler: "loader.ts",
    description: "nblast-fanout: a bin's done marker landed under runs/; load that bin into Postgres",
    environment: {
      BUCKET: deps.bucket.bucketName,
      DATABASE_SECRET_ARN: db.secret.secretArn,
      PGSSLMODE: db.sslMode ?? DEFAULTS.database.sslMode,
    },
    // A bin of millions of rows loads in seconds by binary COPY; the margin is for a busy database.
    timeout: Duration.minutes(10),
    memorySize: 1024,
    logRetention: props.logRetention,
    vpc: db.vpc,
    vpcSubnets,
    securityGroups: [securityGroup],
    reservedConcurrentExecutions: maxConcurrency,
  });
  grantReadPrefixes(deps.bucket, loader, [RUNS]);
  db.secret.grantRead(loader);
  for (const filter of LOADER_TRIGGERS) {
    deps.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.LambdaDestination(loader), filter);
  }
  return { loader, securityGroup };
}

/** Private subnets with egress if the VPC has them, else isolated ones (reached through endpoints). */
function privateSubnetType(vpc: ec2.IVpc): ec2.SubnetType {
  return vpc.privateSubnets.length > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED;
}
