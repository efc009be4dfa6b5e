/** What a neuron file is, from its extension and, for CSV, its header line. */
import { open } from "node:fs/promises";
import { extname } from "node:path";
import { splitCsvLine } from "../nblast/csv-line.ts";
import { isDotpropsCsvHeader, isPointsCsvHeader } from "../nblast/dotprops-csv.ts";

export type NeuronKind = "swc" | "catmaid-json" | "dotprops-csv" | "points-csv";

/** A CSV is a neuron (dotprops or points), a list of inputs (`id,path`), or something else. */
export type CsvKind = "dotprops-csv" | "points-csv" | "id-list" | "other";

export const NEURON_EXTENSIONS = [".swc", ".json", ".csv"];

/** Lower-cased extension with its dot, "" if none. */
export function extensionOf(path: string): string {
  return extname(path).toLowerCase();
}

export function csvKindOfHeader(line: string): CsvKind {
  if (isDotpropsCsvHeader(line)) return "dotprops-csv";
  if (isPointsCsvHeader(line)) return "points-csv";
  if (isIdListHeader(line)) return "id-list";
  return "other";
}

/** `id,path` (a list of inputs) or `id,name` / `id,path` (an id list): id first, then path or name, any more columns after. */
export function isIdListHeader(line: string): boolean {
  const names = headerNames(line);
  return names[0] === "id" && (names.includes("path") || names.includes("name"));
}

export function headerNames(line: string): string[] {
  const fields: string[] = [];
  splitCsvLine(line.charCodeAt(0) === 0xfeff ? line.slice(1) : line, fields);
  return fields.map((f) => f.trim().toLowerCase());
}

/** The first non-blank line of a file (read in small chunks; files may be large). */
export async function firstLine(path: string): Promise<string> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(16384);
    let text = "";
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return text.trim() === "" ? "" : text;
      pos += bytesRead;
      text += buf.toString("utf8", 0, bytesRead);
      const lines = text.split(/\r?\n|\r/);
      for (let i = 0; i < lines.length - 1; i++) if (lines[i].trim() !== "") return lines[i];
      if (text.length > 1 << 20) return lines[0];
    }
  } finally {
    await fh.close();
  }
}
