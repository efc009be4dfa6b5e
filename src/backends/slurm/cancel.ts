/** `cancel` of a Slurm run: scancel on every job it recorded (arrays, and the job after them). */
import { InputError } from "../../nblast/errors.ts";
import type { Storage } from "../../storage/types.ts";
import { firstLines, slurmCommand } from "./commands.ts";
import { readSubmission, withHandSubmittedIds, writeSubmission } from "./record.ts";

export async function cancelSlurm(run: Storage): Promise<string[]> {
  const rec = await withHandSubmittedIds(run, (await readSubmission(run))!);
  const jobs = [...rec.arrays.map((a) => a.jobId), rec.then?.jobId ?? ""].filter((j) => j !== "");
  if (jobs.length === 0) return [];
  const r = await slurmCommand("scancel", jobs);
  // scancel of a job that already ended says so and exits non-zero; only other trouble matters.
  const trouble = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/already completing or completed|Invalid job id/i.test(l));
  if (r.code !== 0 && trouble.length > 0) throw new InputError(`scancel ${jobs.join(" ")} failed: ${firstLines(trouble.join("\n"))}`);
  const at = new Date().toISOString();
  await writeSubmission(run, { ...rec, state: "cancelled", cancelledAt: at, updatedAt: at });
  return jobs;
}
