/**
 * The sbatch scripts a Slurm run is made of, written into RUN/slurm/ so a user can read
 * them, change them and submit them by hand (RUN/slurm/submit.sh does what `submit slurm`
 * does). Every value a script uses is quoted once, at the top.
 */
import { fileURLToPath } from "node:url";
import type { ArrayLayout } from "./arrays.ts";
import { formatRanges } from "./arrays.ts";
import type { SlurmRequest } from "./request.ts";

/** The CLI this process runs (bin/nblast-fanout.js of this install): what `--runtime node` tasks run. */
export function installedCli(): { node: string; cli: string } {
  return { node: process.execPath, cli: fileURLToPath(new URL("../../../bin/nblast-fanout.js", import.meta.url)) };
}

/** Single-quoted for bash: safe for any string. */
export function shq(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface ArrayScriptInput {
  readonly run: string;
  readonly runName: string;
  /** "array 1 of 2", "resume of 2026-12-04T06:00:00Z". */
  readonly title: string;
  readonly layout: ArrayLayout;
  readonly binCount: number;
  readonly request: SlurmRequest;
  /** The partition the request was checked against (written out, so the script is explicit). */
  readonly partition: string;
  /** Local cache folder the workers read (bound into containers read-only); undefined for S3. */
  readonly cacheDir: string | undefined;
  readonly prune: boolean;
}

/** The #SBATCH lines every script of the run shares (resources, account, extra args). */
function resourceLines(req: SlurmRequest, partition: string): string[] {
  const lines = [`#SBATCH --partition=${partition}`, `#SBATCH --cpus-per-task=${req.cpusPerTask}`];
  if (req.memory !== undefined) lines.push(req.memory.per === "cpu" ? `#SBATCH --mem-per-cpu=${req.memory.text}` : `#SBATCH --mem=${req.memory.text}`);
  if (req.time !== undefined) lines.push(`#SBATCH --time=${req.time.text}`);
  if (req.account !== undefined) lines.push(`#SBATCH --account=${req.account}`);
  if (req.qos !== undefined) lines.push(`#SBATCH --qos=${req.qos}`);
  for (const a of req.sbatchArgs) lines.push(`#SBATCH ${a}`);
  return lines;
}

/** The bash lines that set WORKER=(...): the command that scores one bin (the bin number is appended). */
function workerCommand(req: SlurmRequest, cacheDir: string | undefined, prune: boolean): string[] {
  const tail = `worker --run "$RUN" --threads "$THREADS"${prune ? "" : " --no-prune"}`;
  switch (req.runtime) {
    case "node": {
      const { node, cli } = installedCli();
      return [
        "# --runtime node: the nblast-fanout installed where `submit slurm` ran (the same path on",
        "# every node of a cluster with a shared file system).",
        `NODE=${shq(node)}`,
        `CLI=${shq(cli)}`,
        `WORKER=("$NODE" "$CLI" ${tail})`,
      ];
    }
    case "docker":
      return [
        "# --runtime docker: the worker image on the node's Docker engine; the run (and a local",
        "# cache) are bound at the same paths, files are written as the job's user.",
        `IMAGE=${shq(req.image ?? "")}`,
        ...(cacheDir === undefined ? ["CACHE_BIND=()"] : [`CACHE_BIND=(-v ${shq(`${cacheDir}:${cacheDir}:ro`)})`]),
        `WORKER=(docker run --rm --network none --user "$(id -u):$(id -g)" -e HOME=/tmp -v "$RUN:$RUN" "\${CACHE_BIND[@]}" "$IMAGE" ${tail})`,
      ];
    case "apptainer": {
      const image = req.image ?? "";
      const ref = /\.sif$/i.test(image) || image.includes("://") ? image : `docker://${image}`;
      return [
        "# --runtime apptainer: the worker image (docker://IMAGE or a .sif) run with apptainer exec;",
        "# the run (and a local cache) are bound at the same paths.",
        `IMAGE=${shq(ref)}`,
        ...(cacheDir === undefined ? ["CACHE_BIND=()"] : [`CACHE_BIND=(--bind ${shq(`${cacheDir}:${cacheDir}:ro`)})`]),
        `WORKER=(apptainer exec --cleanenv --bind "$RUN" "\${CACHE_BIND[@]}" "$IMAGE" node /app/bin/nblast-fanout.js ${tail})`,
      ];
    }
  }
}

export function arrayScript(s: ArrayScriptInput): string {
  const { layout: a, request: req } = s;
  const indices = formatRanges(a.indices);
  const throttle = req.maxParallel === undefined ? "" : `%${req.maxParallel}`;
  return [
    "#!/bin/bash",
    `# nblast-fanout: ${s.title} of the run ${s.run}`,
    `# Index i runs bins OFFSET + i*PER_TASK to OFFSET + i*PER_TASK + PER_TASK - 1 (below BIN_COUNT),`,
    "# one `nblast-fanout worker` each. A bin already done (done/K.json) is skipped, so a requeued,",
    "# preempted or resumed task redoes nothing. SIGTERM (sent 120 s before the time limit, or on",
    "# preemption) stops the current bin cleanly: it counts as not done and runs again on resume.",
    `#SBATCH --job-name=nblast-${s.runName}`,
    `#SBATCH --array=${indices}${throttle}`,
    `#SBATCH --output=${s.run}/slurm/logs/%A_%a.log`,
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --signal=B:TERM@120",
    ...resourceLines(req, s.partition),
    "set -uo pipefail",
    "",
    `RUN=${shq(s.run)}`,
    `OFFSET=${a.offset}`,
    `PER_TASK=${a.perTask}`,
    `BIN_COUNT=${s.binCount}`,
    'THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    ...workerCommand(req, s.cacheDir, s.prune),
    "",
    "first=$((OFFSET + SLURM_ARRAY_TASK_ID * PER_TASK))",
    "last=$((first + PER_TASK - 1))",
    "if [ \"$last\" -ge \"$BIN_COUNT\" ]; then last=$((BIN_COUNT - 1)); fi",
    'echo "nblast-fanout task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}) on $(hostname): bins $first-$last, $THREADS threads, $(date -u +%FT%TZ)"',
    "",
    "# Bash runs the worker in the background and waits, so that SIGTERM reaches it at once.",
    "child=0",
    "stopping=0",
    'trap \'stopping=1; [ "$child" -ne 0 ] && kill -TERM "$child" 2>/dev/null\' TERM',
    "failed=0",
    "for ((bin = first; bin <= last; bin++)); do",
    '  [ "$stopping" -eq 1 ] && break',
    '  "${WORKER[@]}" --bin "$bin" &',
    "  child=$!",
    '  wait "$child"; status=$?',
    '  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
    "  child=0",
    '  if [ "$status" -ne 0 ]; then failed=$((failed + 1)); echo "nblast-fanout task: bin $bin failed (exit $status)"; fi',
    "done",
    'if [ "$stopping" -eq 1 ]; then echo "nblast-fanout task: stopped by SIGTERM (time limit near, or preempted)"; exit 143; fi',
    'if [ "$failed" -gt 0 ]; then echo "nblast-fanout task: $failed bin(s) failed"; exit 1; fi',
    'echo "nblast-fanout task: done"',
    "",
  ].join("\n");
}

export interface ThenScriptInput {
  readonly run: string;
  readonly runName: string;
  readonly kind: "export" | "load";
  readonly request: SlurmRequest;
  readonly partition: string;
  /** export: the merged file. */
  readonly out?: string;
  /** load: the similarity id (credentials come from the job's environment, never the script). */
  readonly similarityId?: number;
  readonly catmaid?: boolean;
}

export function thenScript(s: ThenScriptInput): string {
  const { node, cli } = installedCli();
  const command =
    s.kind === "export"
      ? `"$NODE" "$CLI" export --run "$RUN" --format ${/\.csv$/i.test(s.out ?? "") ? "csv" : "parquet"} --out ${shq(s.out ?? "")}`
      : `"$NODE" "$CLI" load --run "$RUN" --similarity-id ${s.similarityId ?? 0}${s.catmaid === true ? " --catmaid" : ""}`;
  const req = s.request;
  return [
    "#!/bin/bash",
    `# nblast-fanout: ${s.kind === "export" ? "merge the run's shards into one file" : "load the run's bins into Postgres"} once every array of the run has`,
    "# succeeded (submitted with --dependency=afterok on them).",
    ...(s.kind === "load" ? ["# The database is named by DATABASE_URL or PG* in the environment sbatch passes on; no password is written here."] : []),
    `#SBATCH --job-name=nblast-${s.runName}-${s.kind}`,
    `#SBATCH --output=${s.run}/slurm/logs/${s.kind}-%j.log`,
    `#SBATCH --partition=${s.partition}`,
    "#SBATCH --cpus-per-task=1",
    ...(req.time !== undefined ? [`#SBATCH --time=${req.time.text}`] : []),
    ...(req.account !== undefined ? [`#SBATCH --account=${req.account}`] : []),
    ...(req.qos !== undefined ? [`#SBATCH --qos=${req.qos}`] : []),
    "set -euo pipefail",
    `RUN=${shq(s.run)}`,
    `NODE=${shq(node)}`,
    `CLI=${shq(cli)}`,
    command,
    "",
  ].join("\n");
}

/** RUN/slurm/submit.sh: what `submit slurm` does, for a user to read and run by hand. */
export function submitScript(run: string, arrays: readonly string[], then: string | undefined): string {
  const lines = [
    "#!/bin/bash",
    "# nblast-fanout: submits this run's arrays (and the job that follows them), as",
    "# `nblast-fanout submit slurm` does; each job id is appended to slurm/job-ids.txt, where",
    "# `nblast-fanout status`, `resume` and `cancel` find it.",
    "set -euo pipefail",
    `cd ${shq(`${run}/slurm`)}`,
    "mkdir -p logs",
    "ids=()",
  ];
  for (const a of arrays) {
    lines.push(`id=$(sbatch --parsable ${shq(a)}); id=\${id%%;*}; ids+=("$id"); echo "${a} $id" >> job-ids.txt; echo "${a}: job $id"`);
  }
  if (then !== undefined) {
    lines.push(`dep=$(IFS=:; echo "\${ids[*]}")`);
    lines.push(`id=$(sbatch --parsable --dependency="afterok:$dep" --kill-on-invalid-dep=yes ${shq(then)}); id=\${id%%;*}; echo "${then} $id" >> job-ids.txt; echo "${then}: job $id"`);
  }
  lines.push("");
  return lines.join("\n");
}
