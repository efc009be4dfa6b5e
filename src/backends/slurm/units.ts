/** Slurm's time and memory notations, parsed the way sbatch reads them. */

/**
 * A time limit as sbatch takes it: "minutes", "minutes:seconds", "hours:minutes:seconds",
 * "days-hours", "days-hours:minutes", "days-hours:minutes:seconds". Seconds; undefined
 * when the text is none of these.
 */
export function parseSlurmTime(text: string): number | undefined {
  const t = text.trim();
  let m = /^(\d+)-(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  if (m !== null) return ((Number(m[1]) * 24 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0);
  m = /^(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  if (m === null) return undefined;
  if (m[3] !== undefined) return (Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3]);
  if (m[2] !== undefined) return Number(m[1]) * 60 + Number(m[2]);
  return Number(m[1]) * 60;
}

/** Seconds as Slurm prints them: "D-HH:MM:SS" or "HH:MM:SS". */
export function formatSlurmTime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const hms = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

/** A memory size as sbatch takes it ("4000", "500M", "4G", "1T"; no suffix: megabytes), in MB; undefined when malformed. */
export function parseSlurmMemory(text: string): number | undefined {
  const m = /^(\d+)([KMGT]?)B?$/i.exec(text.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  switch (m[2].toUpperCase()) {
    case "K":
      return Math.ceil(n / 1024);
    case "G":
      return n * 1024;
    case "T":
      return n * 1024 * 1024;
    default:
      return n;
  }
}
