import { readFile } from "node:fs/promises";
import { InputError } from "../nblast/errors.ts";
import { SMAT_ALPHA_FCWB, SMAT_FCWB, parseSmatCsv, parseSmatJson } from "../nblast/smat.ts";
import type { ScoreMatrix } from "../nblast/smat.ts";

/** `--smat fcwb|alpha-fcwb|FILE`; without it FCWB, or alpha-FCWB when alpha is used (as nat.nblast). */
export async function resolveSmat(spec: string | undefined, useAlpha: boolean): Promise<ScoreMatrix> {
  if (spec === undefined) return useAlpha ? SMAT_ALPHA_FCWB : SMAT_FCWB;
  if (spec === "fcwb") return SMAT_FCWB;
  if (spec === "alpha-fcwb") return SMAT_ALPHA_FCWB;
  let text: string;
  try {
    text = await readFile(spec, "utf8");
  } catch {
    throw new InputError(`--smat: '${spec}' is neither fcwb, alpha-fcwb nor a readable file`);
  }
  return spec.toLowerCase().endsWith(".json") ? parseSmatJson(text, spec) : parseSmatCsv(text, spec);
}
