/**
 * What the cluster allows, read from `scontrol show config`, `show partition` and
 * `show node`: the limits a submission is checked against before anything reaches sbatch,
 * and how arrays must be cut.
 */
import { parseConfig, parseOneLiners, slurmOk } from "./commands.ts";
import { parseSlurmTime } from "./units.ts";

export interface SlurmNode {
  readonly name: string;
  readonly cpus: number;
  /** MB, as slurm.conf's RealMemory. */
  readonly memoryMb: number;
  readonly partitions: readonly string[];
  readonly state: string;
}

export interface SlurmPartition {
  readonly name: string;
  readonly isDefault: boolean;
  /** Seconds; undefined: UNLIMITED. */
  readonly maxTime: number | undefined;
  readonly maxTimeText: string;
  /** MB; undefined: UNLIMITED. */
  readonly maxMemPerNode: number | undefined;
  readonly maxMemPerCpu: number | undefined;
  readonly maxCpusPerNode: number | undefined;
  readonly state: string;
  readonly nodes: readonly SlurmNode[];
}

export interface SlurmCluster {
  readonly clusterName: string;
  /** Array indices run from 0 to maxArraySize - 1. */
  readonly maxArraySize: number;
  /** Jobs slurmctld holds at once (MaxJobCount); with accounting, MaxSubmitJobs may be lower. */
  readonly maxJobCount: number;
  /** Per-user submit limit from the accounting database, when there is one and it sets one. */
  readonly maxSubmitJobs: number | undefined;
  readonly accounting: boolean;
  readonly minJobAge: number;
  readonly partitions: readonly SlurmPartition[];
}

export async function readCluster(): Promise<SlurmCluster> {
  const config = parseConfig(await slurmOk("scontrol", ["show", "config"]));
  const nodes = parseOneLiners(await slurmOk("scontrol", ["show", "node", "-o"])).map(
    (r): SlurmNode => ({
      name: r.get("NodeName") ?? "?",
      cpus: intOr(r.get("CPUEfctv") ?? r.get("CPUTot"), 0),
      memoryMb: intOr(r.get("RealMemory"), 0),
      partitions: (r.get("Partitions") ?? "").split(",").filter((p) => p !== ""),
      state: r.get("State") ?? "UNKNOWN",
    }),
  );
  const partitions = parseOneLiners(await slurmOk("scontrol", ["show", "partition", "-o"])).map((r): SlurmPartition => {
    const name = r.get("PartitionName") ?? "?";
    const maxTimeText = r.get("MaxTime") ?? "UNLIMITED";
    return {
      name,
      isDefault: r.get("Default") === "YES",
      maxTime: maxTimeText === "UNLIMITED" ? undefined : parseSlurmTime(maxTimeText),
      maxTimeText,
      maxMemPerNode: limit(r.get("MaxMemPerNode")),
      maxMemPerCpu: limit(r.get("MaxMemPerCPU")),
      maxCpusPerNode: limit(r.get("MaxCPUsPerNode")),
      state: r.get("State") ?? "UP",
      nodes: nodes.filter((n) => n.partitions.includes(name)),
    };
  });
  const accounting = (config.get("AccountingStorageType") ?? "accounting_storage/none") !== "accounting_storage/none";
  return {
    clusterName: config.get("ClusterName") ?? "cluster",
    maxArraySize: intOr(config.get("MaxArraySize"), 1001),
    maxJobCount: intOr(config.get("MaxJobCount"), 10000),
    maxSubmitJobs: accounting ? await readMaxSubmitJobs() : undefined,
    accounting,
    minJobAge: intOr(config.get("MinJobAge"), 300),
    partitions,
  };
}

/** The user's MaxSubmitJobs from the accounting database (lowest of their associations), if any. */
async function readMaxSubmitJobs(): Promise<number | undefined> {
  try {
    const user = process.env.USER ?? process.env.LOGNAME ?? "";
    const out = await slurmOk("sacctmgr", ["--noheader", "--parsable2", "show", "association", `user=${user}`, "format=MaxSubmitJobs"]);
    const values = out.split("\n").map((l) => Number.parseInt(l, 10)).filter((n) => Number.isSafeInteger(n) && n > 0);
    return values.length === 0 ? undefined : Math.min(...values);
  } catch {
    return undefined; // sacctmgr absent or refused: MaxJobCount still bounds the run
  }
}

function intOr(v: string | undefined, fallback: number): number {
  const n = v === undefined ? Number.NaN : Number.parseInt(v, 10);
  return Number.isSafeInteger(n) ? n : fallback;
}

function limit(v: string | undefined): number | undefined {
  if (v === undefined || v === "UNLIMITED" || v === "0") return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}
