/**
 * What the user asks of the cluster (`submit slurm`'s options), and its check against the
 * cluster's own limits, so that an impossible request is refused in words, naming the
 * limit, before anything reaches sbatch (which would refuse it less clearly, or, without
 * EnforcePartLimits, leave it pending forever).
 */
import { InputError } from "../../nblast/errors.ts";
import type { SlurmCluster, SlurmPartition } from "./cluster.ts";
import { formatSlurmTime, parseSlurmMemory, parseSlurmTime } from "./units.ts";

export const RUNTIMES = ["node", "docker", "apptainer"] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** Memory per task: per allocated CPU, or per node (a task is one node). */
export type MemoryRequest = { readonly per: "cpu" | "node"; readonly text: string; readonly mb: number };

export interface SlurmRequest {
  readonly partition?: string;
  readonly account?: string;
  readonly qos?: string;
  readonly cpusPerTask: number;
  readonly memory?: MemoryRequest;
  /** As given ("1:30:00"), and in seconds. */
  readonly time?: { readonly text: string; readonly seconds: number };
  /** Tasks of one array running at once (`%T`); undefined: no cap. */
  readonly maxParallel?: number;
  /** Bins per array index; undefined: 1, or more when MaxSubmitJobs would be exceeded. */
  readonly binsPerTask?: number;
  readonly runtime: Runtime;
  /** docker: an image name; apptainer: docker://IMAGE, IMAGE (taken as docker://IMAGE) or a .sif file. */
  readonly image?: string;
  /** Passed to sbatch as they are, as `#SBATCH` lines. */
  readonly sbatchArgs: readonly string[];
}

export function parseMemory(text: string, per: "cpu" | "node", option: string): MemoryRequest {
  const mb = parseSlurmMemory(text);
  if (mb === undefined || mb <= 0) throw new InputError(`${option} ${JSON.stringify(text)} is not a memory size: use megabytes (4000) or a size with a unit (500M, 4G)`);
  return { per, text: text.trim(), mb };
}

export function parseTime(text: string): { text: string; seconds: number } {
  const seconds = parseSlurmTime(text);
  if (seconds === undefined || seconds <= 0) {
    throw new InputError(`--time ${JSON.stringify(text)} is not a Slurm time limit: use MINUTES, HH:MM:SS or DAYS-HH:MM:SS`);
  }
  return { text: text.trim(), seconds };
}

/** The partition a request lands in: the named one, or the cluster's default. */
export function partitionOf(cluster: SlurmCluster, req: SlurmRequest): SlurmPartition {
  const names = cluster.partitions.map((p) => p.name);
  if (req.partition !== undefined) {
    const p = cluster.partitions.find((x) => x.name === req.partition);
    if (p === undefined) throw new InputError(`partition "${req.partition}" does not exist on cluster ${cluster.clusterName}: its partitions are ${names.join(", ") || "(none)"}`);
    return p;
  }
  const p = cluster.partitions.find((x) => x.isDefault);
  if (p === undefined) throw new InputError(`cluster ${cluster.clusterName} has no default partition: choose one with --partition (${names.join(", ")})`);
  return p;
}

/** Refuses what no node of the partition can run, naming the limit. */
export function checkRequest(cluster: SlurmCluster, req: SlurmRequest): SlurmPartition {
  const p = partitionOf(cluster, req);
  const where = `partition ${p.name}`;
  if (p.nodes.length === 0) throw new InputError(`${where} has no nodes`);
  if (p.state !== "UP") throw new InputError(`${where} is ${p.state}, not UP: jobs sent to it would not start`);
  const maxCpus = Math.max(...p.nodes.map((n) => n.cpus));
  const cpuCap = p.maxCpusPerNode === undefined ? maxCpus : Math.min(maxCpus, p.maxCpusPerNode);
  if (req.cpusPerTask > cpuCap) {
    throw new InputError(
      `--cpus-per-task ${req.cpusPerTask} is more than any node of ${where} has: its largest node has ${cpuCap} CPUs` +
        `${p.maxCpusPerNode !== undefined && p.maxCpusPerNode < maxCpus ? ` usable by one job (MaxCPUsPerNode)` : ""}; ask for at most ${cpuCap}`,
    );
  }
  if (req.memory !== undefined) {
    const perTask = req.memory.per === "cpu" ? req.memory.mb * req.cpusPerTask : req.memory.mb;
    const fits = p.nodes.filter((n) => n.cpus >= req.cpusPerTask).map((n) => n.memoryMb);
    const maxMem = Math.max(...fits);
    const what = req.memory.per === "cpu" ? `--mem-per-cpu ${req.memory.text} x ${req.cpusPerTask} CPUs = ${perTask} MB` : `--mem ${req.memory.text} (${perTask} MB)`;
    if (perTask > maxMem) throw new InputError(`${what} is more than any node of ${where} with ${req.cpusPerTask} CPUs has: the largest has ${maxMem} MB`);
    if (p.maxMemPerNode !== undefined && perTask > p.maxMemPerNode) throw new InputError(`${what} is over ${where}'s MaxMemPerNode of ${p.maxMemPerNode} MB`);
    if (req.memory.per === "cpu" && p.maxMemPerCpu !== undefined && req.memory.mb > p.maxMemPerCpu) {
      throw new InputError(`--mem-per-cpu ${req.memory.text} is over ${where}'s MaxMemPerCPU of ${p.maxMemPerCpu} MB`);
    }
  }
  if (req.time !== undefined && p.maxTime !== undefined && req.time.seconds > p.maxTime) {
    throw new InputError(`--time ${req.time.text} (${formatSlurmTime(req.time.seconds)}) is over ${where}'s MaxTime of ${p.maxTimeText}: ask for at most ${p.maxTimeText}, or use more bins (plan --bins) so each takes less time`);
  }
  if ((req.runtime === "docker" || req.runtime === "apptainer") && (req.image === undefined || req.image === "")) {
    throw new InputError(`--runtime ${req.runtime} needs --image (the worker image built from container/Dockerfile${req.runtime === "apptainer" ? ", or a .sif made from it" : ""})`);
  }
  return p;
}

/**
 * sbatch's refusals, with what to change. Slurm's words come first, unchanged; the hint
 * names the option of `submit slurm` that fixes it.
 */
export function explainSbatchError(stderr: string): string | undefined {
  const hints: [RegExp, string][] = [
    [/Invalid account|account\/partition combination/i, "check --account (sacctmgr show assoc user=$USER lists yours) and --partition"],
    [/Invalid qos/i, "check --qos (sacctmgr show assoc user=$USER format=qos lists yours)"],
    [/Invalid partition/i, "check --partition (sinfo lists the partitions)"],
    [/More processors requested than permitted|Requested node configuration is not available/i, "ask for fewer --cpus-per-task, nodes or less memory (sinfo -o '%P %D %c %m' shows the nodes); check the --sbatch-arg options"],
    [/Memory required by task is not available|memory specification can not be satisfied/i, "ask for less --mem / --mem-per-cpu"],
    [/time limit|Requested time limit is invalid/i, "ask for a shorter --time (scontrol show partition shows MaxTime)"],
    [/Invalid job array specification|MaxArraySize/i, "the array is larger than the cluster's MaxArraySize: use --bins-per-task"],
    [/MaxSubmit|AssocMaxSubmitJobLimit|QOSMaxSubmitJob/i, "too many jobs for your submit limit: use a larger --bins-per-task, or wait for jobs to finish"],
  ];
  for (const [re, hint] of hints) if (re.test(stderr)) return hint;
  return undefined;
}
