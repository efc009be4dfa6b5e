/**
 * Synthesizes NblastFanoutStack once per test file (with cdk.json's feature flags, handlers
 * bundled by esbuild as in `cdk synth`) and reads its IAM statements back in a form that
 * tests can compare: every CloudFormation value rendered to a string, `${LogicalId}` for a
 * Ref and `${LogicalId.Attr}` for a GetAtt.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { expect } from "vitest";
import { NblastFanoutStack, type NblastFanoutStackProps } from "../../infra/stack.ts";

export const REPO = path.resolve(import.meta.dirname, "../..");

/** cdk.json's context (feature flags), as `cdk synth` gives the app. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO, "cdk.json"), "utf8")).context;
}

export type Json = any;

export interface Synthesized {
  readonly stack: NblastFanoutStack;
  readonly template: Template;
  readonly json: Json;
  /** The cloud assembly folder (templates, asset manifests, staged assets). */
  readonly outdir: string;
  /** Removes the cloud assembly folder (call from afterAll). */
  cleanup(): void;
}

/**
 * `bundle`: run esbuild on the handlers as `cdk synth` does. Off by default: bundling the
 * real handlers (AWS SDK and all) takes seconds per function, and the template is the same
 * without it; one test file bundles (stack-kms-database, every handler) and so does
 * cdk-synth.test.ts.
 */
export function synth(props: NblastFanoutStackProps = {}, opts: { bundle?: boolean } = {}): Synthesized {
  const outdir = mkdtempSync(path.join(tmpdir(), "nblast-fanout-cdk-"));
  const app = new App({
    outdir,
    context: { ...cdkJsonContext(), ...(opts.bundle === true ? {} : { "aws:cdk:bundling-stacks": [] }) },
    // CDK's CloudFormation rule check (a WebAssembly engine) costs seconds per synth and
    // changes nothing in the template; `cdk synth` itself runs it (cdk-synth.test.ts).
    builtinCloudFormationValidation: false,
  });
  const stack = new NblastFanoutStack(app, "NblastFanoutStack", props);
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON(), outdir, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** A CloudFormation value as a string: `${Id}` for Ref, `${Id.Attr}` for GetAtt, joins joined. */
export function render(v: Json): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if ("Ref" in v) return `\${${v.Ref}}`;
  if ("Fn::GetAtt" in v) return `\${${(v["Fn::GetAtt"] as string[]).join(".")}}`;
  if ("Fn::Join" in v) return (v["Fn::Join"][1] as Json[]).map(render).join(v["Fn::Join"][0]);
  if ("Fn::Sub" in v) return typeof v["Fn::Sub"] === "string" ? v["Fn::Sub"] : v["Fn::Sub"][0];
  return JSON.stringify(v);
}

/** The one resource of `type` (optionally whose logical id starts with `prefix`). */
export function onlyResource(json: Json, type: string, prefix = ""): { id: string; resource: Json } {
  const found = resourcesOf(json, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}, found ${found.map(([id]) => id).join(", ") || "none"}`);
  const [id, resource] = found[0];
  return { id, resource };
}

export function resourcesOf(json: Json, type: string): [string, Json][] {
  return Object.entries(json.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

export interface Statement {
  readonly effect: string;
  readonly actions: string[];
  readonly resources: string[];
  readonly condition: Json;
  /** Where it came from: the policy's logical id. */
  readonly policy: string;
}

function statementsOfDocument(doc: Json, policy: string): Statement[] {
  return (doc.Statement as Json[]).map((s) => ({
    effect: s.Effect,
    actions: [s.Action].flat().map(render),
    resources: [s.Resource ?? []].flat().map(render),
    condition: s.Condition,
    policy,
  }));
}

/** Every identity-policy statement in the template (policies, managed policies, inline role policies). */
export function allIdentityStatements(json: Json): Statement[] {
  const out: Statement[] = [];
  for (const [id, r] of resourcesOf(json, "AWS::IAM::Policy")) out.push(...statementsOfDocument(r.Properties.PolicyDocument, id));
  for (const [id, r] of resourcesOf(json, "AWS::IAM::ManagedPolicy")) out.push(...statementsOfDocument(r.Properties.PolicyDocument, id));
  for (const [id, r] of resourcesOf(json, "AWS::IAM::Role")) {
    for (const p of r.Properties.Policies ?? []) out.push(...statementsOfDocument(p.PolicyDocument, id));
  }
  return out;
}

/** The statements a role gets from the stack's policies (not from AWS-managed policies). */
export function statementsOfRole(json: Json, roleId: string): Statement[] {
  const out: Statement[] = [];
  const attached = (r: Json) => ((r.Properties.Roles ?? []) as Json[]).some((x) => x.Ref === roleId);
  for (const [id, r] of resourcesOf(json, "AWS::IAM::Policy")) if (attached(r)) out.push(...statementsOfDocument(r.Properties.PolicyDocument, id));
  for (const [id, r] of resourcesOf(json, "AWS::IAM::ManagedPolicy")) if (attached(r)) out.push(...statementsOfDocument(r.Properties.PolicyDocument, id));
  for (const p of json.Resources[roleId].Properties.Policies ?? []) out.push(...statementsOfDocument(p.PolicyDocument, roleId));
  return out;
}

/** AWS-managed policy names a role has (e.g. service-role/AWSLambdaBasicExecutionRole). */
export function managedPolicyNamesOfRole(json: Json, roleId: string): string[] {
  return ((json.Resources[roleId].Properties.ManagedPolicyArns ?? []) as Json[]).map((a) => render(a).replace(/^.*:policy\//, ""));
}

/** The role of a Lambda function, by the function's logical-id prefix. */
export function roleOfFunction(json: Json, fnPrefix: string): string {
  const { resource } = onlyResource(json, "AWS::Lambda::Function", fnPrefix);
  return resource.Properties.Role["Fn::GetAtt"][0];
}

/** "action on resource [if condition]" lines of the S3 and SQS statements, sorted: easy to compare whole. */
export function s3AndSqsGrants(statements: Statement[]): string[] {
  const lines: string[] = [];
  for (const s of statements) {
    for (const a of s.actions) {
      if (!/^(s3|sqs):/.test(a)) continue;
      for (const r of s.resources) lines.push(`${s.effect} ${a} ${r}${s.condition === undefined ? "" : ` if ${JSON.stringify(s.condition)}`}`);
    }
  }
  return lines.sort();
}

/**
 * Fails unless every identity statement that touches S3 or SQS names its actions without
 * a wildcard, has no `*` resource, and names object ARNs only under caches/ or runs/ of the
 * stack's bucket (and otherwise only the bucket or the stack's queues). Returns how many
 * statements it checked, so that a test can see it checked something.
 */
export function checkNoS3OrSqsWildcards(json: Json): number {
  const bucket = `\${${onlyResource(json, "AWS::S3::Bucket").id}.Arn}`;
  const queues = resourcesOf(json, "AWS::SQS::Queue").map(([id]) => `\${${id}.Arn}`);
  const touched = allIdentityStatements(json).filter((st) => st.actions.some((a) => /^(s3|sqs):/.test(a)));
  for (const st of touched) {
    for (const a of st.actions) expect(a, `${st.policy}: ${a}`).not.toContain("*");
    for (const r of st.resources) {
      expect(r, st.policy).not.toBe("*");
      if (r.startsWith(`${bucket}/`)) expect([`${bucket}/caches/*`, `${bucket}/runs/*`], `${st.policy}: ${r}`).toContain(r);
      else expect([bucket, ...queues], `${st.policy}: ${r}`).toContain(r);
    }
  }
  return touched.length;
}
