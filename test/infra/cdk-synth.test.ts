// `npx cdk synth` as a user runs it: the real CLI, cdk.json's app and flags (CDK's
// CloudFormation rule check included), no AWS credentials, and no network at all when the
// machine lets us make a network namespace (`unshare -rn`; CI must be able to).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO } from "./synth.ts";

const work = mkdtempSync(path.join(tmpdir(), "nblast-fanout-cdk-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An environment with nothing that could reach an AWS account: no keys, no profile, no ~/.aws. */
function credentialFreeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|CDK_)/.test(k)) env[k] = v;
  return {
    ...env,
    HOME: path.join(work, "home"),
    AWS_CONFIG_FILE: path.join(work, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, "no-aws-credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    CDK_DISABLE_VERSION_CHECK: "1",
    CDK_DISABLE_CLI_TELEMETRY: "true",
  };
}

const offline = spawnSync("unshare", ["-rn", "true"]).status === 0;

describe("npx cdk synth", () => {
  it("synthesizes the stack with no credentials and no network, context from -c", () => {
    if (!offline) {
      // Not a component the tool needs, but CI's machines have it: there its absence is a failure.
      if (process.env.CI === "true") throw new Error("`unshare -rn` is unavailable: cannot prove that cdk synth runs offline");
      console.warn("cdk-synth.test: `unshare -rn` unavailable here; running without credentials but with the network");
    }
    const out = path.join(work, "cdk.out");
    const cdk = ["npx", "cdk", "synth", "--quiet", "--no-notices", "--output", out, "-c", "maxVcpus=64"];
    const argv = offline ? ["unshare", "-rn", ...cdk] : cdk;
    const started = performance.now();
    const r = spawnSync(argv[0], argv.slice(1), { cwd: REPO, env: credentialFreeEnv(), encoding: "utf8", timeout: 120_000 });
    const seconds = (performance.now() - started) / 1000;
    console.log(`cdk synth: ${seconds.toFixed(1)} s${offline ? " (no network namespace)" : ""}`);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);

    const template = JSON.parse(readFileSync(path.join(out, "NblastFanoutStack.template.json"), "utf8"));
    const ce = Object.values(template.Resources as Record<string, { Type: string; Properties: { ComputeResources: { MaxvCpus: number } } }>).find(
      (res) => res.Type === "AWS::Batch::ComputeEnvironment",
    );
    expect(ce?.Properties.ComputeResources.MaxvCpus).toBe(64);
    expect(Object.keys(template.Outputs)).toContain("JobDefinitionArn");
    // Environment-agnostic: nothing left to look up in an account.
    const manifest = JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8"));
    expect(manifest.missing ?? []).toEqual([]);
    expect(manifest.artifacts.NblastFanoutStack.environment).toBe("aws://unknown-account/unknown-region");
    // CDK's CloudFormation rules ran, and found nothing.
    const report = JSON.parse(readFileSync(path.join(out, "validation-report.json"), "utf8"));
    for (const plugin of report.pluginReports ?? []) expect(plugin.violations ?? [], plugin.pluginName).toEqual([]);
    // The handlers were bundled by esbuild, locally.
    const assets = JSON.parse(readFileSync(path.join(out, "NblastFanoutStack.assets.json"), "utf8"));
    const bundles = Object.values(assets.files as Record<string, { source: { path: string } }>)
      .map((f) => path.join(out, f.source.path, "index.mjs"))
      .filter((p) => existsSync(p));
    expect(bundles.length).toBe(2);
  }, 180_000);

  it("a bad context value stops the app with its message alone and exit status 2", () => {
    const r = spawnSync(process.execPath, ["infra/app.ts"], {
      cwd: REPO,
      env: { ...credentialFreeEnv(), CDK_CONTEXT_JSON: JSON.stringify({ maxVcpus: "lots" }), CDK_OUTDIR: path.join(work, "bad.out") },
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('nblast-fanout infra: -c: context maxVcpus="lots": must be a number\n');
  });
});
