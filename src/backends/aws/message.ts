/**
 * One SQS message per bin, on one queue shared by every run (docs/aws.md, AWS-CONTRACT):
 * `{"v":1,"run":"s3://BUCKET/runs/NAME","bin":K}`. Duplicates are harmless: a worker that
 * receives a bin whose done marker holds skips it and deletes the message.
 */
import * as z from "zod";

export const BIN_MESSAGE_VERSION = 1;

export const binMessageSchema = z.strictObject({
  v: z.literal(BIN_MESSAGE_VERSION),
  /** The run's storage URI (s3://bucket/runs/name on AWS; any storage URI for local tests). */
  run: z.string().min(1),
  bin: z.int().nonnegative(),
});

export type BinMessage = z.infer<typeof binMessageSchema>;

export function binMessageBody(run: string, bin: number): string {
  return JSON.stringify({ v: BIN_MESSAGE_VERSION, run, bin } satisfies BinMessage);
}

/** The message, or why it is not one of ours (a message from elsewhere, or damaged). */
export function parseBinMessage(body: string | undefined): { ok: true; message: BinMessage } | { ok: false; reason: string } {
  if (body === undefined) return { ok: false, reason: "empty body" };
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, reason: "body is not JSON" };
  }
  const parsed = binMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `body field ${issue.path.join(".") || "(root)"}: ${issue.message}` };
  }
  return { ok: true, message: parsed.data };
}
