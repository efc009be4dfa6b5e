/**
 * The rule for suites that need a real component (Docker, moto, ...): where it is missing
 * on a developer's machine the suite says why and skips; with CI=true a missing component
 * is a failure, never a skip.
 *
 *   const docker = await dockerForTests();          // { ok: false, reason } when missing
 *   describe.skipIf(!docker.ok)("...", () => ...);
 */
export type Availability<T> = ({ readonly ok: true } & T) | { readonly ok: false; readonly reason: string };

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true)$/i.test(env.CI ?? "");
}

/** Reports a missing component: throws under CI, else warns once and returns the skip. */
export function missing<T>(component: string, reason: string): Availability<T> {
  const text = `${component} is not available (${reason})`;
  if (isCi()) throw new Error(`${text}: with CI=true this is a failure, not a skip`);
  process.stderr.write(`skipping the ${component} tests: ${text}\n`);
  return { ok: false, reason: text };
}
