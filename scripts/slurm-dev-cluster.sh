#!/usr/bin/env bash
# A one-node Slurm cluster of our own, without systemd, for development and tests: try
# `submit slurm` on a workstation, or run test/backends/slurm against a real Slurm.
#
#   scripts/slurm-dev-cluster.sh up      start munged, slurmctld and slurmd (or find them
#                                        running); prints the export line for the clients
#   scripts/slurm-dev-cluster.sh down    stop the daemons this script started
#   scripts/slurm-dev-cluster.sh env     prints `export SLURM_CONF=...`
#   scripts/slurm-dev-cluster.sh status  exit 0 when the controller answers and the node is up
#
# Environment:
#   SLURM_DEV_DIR        the cluster's folder: slurm.conf, state, spool, logs, pid files
#                        (default /tmp/nblast-fanout-slurm)
#   SLURM_DEV_MAX_ARRAY  MaxArraySize (default 1001, Slurm's own; the tests use a small one
#                        so that runs are split into several arrays)
#   SLURM_DEV_PORT       slurmctld's port; slurmd takes the next one (default 16817)
#   SLURM_DEV_PARTITION  the one partition's name (default debug)
#   SLURM_DEV_MAX_TIME   the partition's MaxTime (default 1:00:00)
#   SLURM_DEV_CGROUP     v1: memory limits by task/cgroup on a writable cgroup v1 memory
#                        controller (a job over its --mem ends OUT_OF_MEMORY); none:
#                        task/none, memory polled and over-limit jobs killed (they end
#                        FAILED); auto (default): v1 where /sys/fs/cgroup/memory is writable
#
# Needs root and Debian's slurm-wlm and munge (`apt-get install slurm-wlm munge`; the
# package makes /etc/munge/munge.key). The node gets the machine's CPUs and memory (less
# 512 MB for the system); accounting is off and finished jobs go to a job completion log,
# which `sacct -c` reads.
set -euo pipefail

DIR="${SLURM_DEV_DIR:-/tmp/nblast-fanout-slurm}"
CONF="$DIR/slurm.conf"
MAX_ARRAY="${SLURM_DEV_MAX_ARRAY:-1001}"
PORT="${SLURM_DEV_PORT:-16817}"
PARTITION="${SLURM_DEV_PARTITION:-debug}"
MAX_TIME="${SLURM_DEV_MAX_TIME:-1:00:00}"
CGROUP="${SLURM_DEV_CGROUP:-auto}"
if [ "$CGROUP" = auto ]; then
  CGROUP=none
  if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then CGROUP=v1; fi
fi

say() { printf 'slurm-dev: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

export SLURM_CONF="$CONF"

node_up() {
  # The controller answers and the node is usable (idle, mixed or allocated).
  [ -f "$CONF" ] || return 1
  local state
  state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n1)" || return 1
  case "$state" in idle* | mixed* | alloc* | completing*) return 0 ;; *) return 1 ;; esac
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  local host cpus mem_mb
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem_mb=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 - 512))
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log"
  local task_plugin=task/none gather_params=JobAcctGatherParams=OverMemoryKill
  local memory_note="polled; a job over its --mem is killed and ends FAILED, its log saying so."
  rm -f "$DIR/cgroup.conf"
  if [ "$CGROUP" = v1 ]; then
    # A writable cgroup v1 memory controller: jobs get real memory limits and one that
    # exceeds its --mem ends OUT_OF_MEMORY, as on a production cluster.
    task_plugin=task/cgroup gather_params=""
    memory_note="cgroup v1 limits; a job over its --mem ends OUT_OF_MEMORY."
    printf '%s\n' CgroupPlugin=cgroup/v1 CgroupMountpoint=/sys/fs/cgroup ConstrainRAMSpace=yes ConstrainSwapSpace=yes >"$DIR/cgroup.conf"
  fi
  cat >"$CONF" <<EOF
# Written by scripts/slurm-dev-cluster.sh: one node, no systemd, no accounting database.
ClusterName=nblastdev
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# No systemd: processes are tracked by their parent ids. Memory: $memory_note
ProctrackType=proctrack/linuxproc
TaskPlugin=$task_plugin
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
$gather_params
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without it an impossible request pends forever (Reason=PartitionConfig).
EnforcePartLimits=ALL
# Arrays start promptly.
SchedulerParameters=sched_interval=1,bf_interval=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
MinJobAge=300
MaxArraySize=$MAX_ARRAY
ReturnToService=2
SlurmdTimeout=60
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=$MAX_TIME State=UP
EOF
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their users)"
  command -v slurmctld >/dev/null || die "slurmctld not found: apt-get install slurm-wlm munge"
  if node_up; then
    say "running ($CONF)"
    echo "export SLURM_CONF=$CONF"
    return
  fi
  write_conf
  if ! munge -n >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n >/dev/null 2>&1 || die "munged did not start (see /var/log/munge/munged.log)"
    touch "$DIR/munged.started"
  fi
  alive "$DIR/slurmctld.pid" || slurmctld -f "$CONF"
  alive "$DIR/slurmd.pid" || slurmd -f "$CONF"
  for _ in $(seq 100); do
    node_up && break
    sleep 0.2
  done
  if ! node_up; then
    # A node left DOWN by an earlier cluster in the same folder comes back with this.
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    for _ in $(seq 50); do node_up && break; sleep 0.2; done
  fi
  node_up || die "the node did not come up; logs in $DIR/log"
  say "up: $(sinfo -h -o '%P %D %c CPUs %m MB %l')"
  echo "export SLURM_CONF=$CONF"
}

down() {
  [ -f "$CONF" ] || { say "no cluster in $DIR"; return; }
  scancel --quiet --user=root >/dev/null 2>&1 || true
  sleep 0.5
  local f
  for f in "$DIR/slurmd.pid" "$DIR/slurmctld.pid"; do
    if alive "$f"; then
      kill "$(cat "$f")" 2>/dev/null || true
      for _ in $(seq 50); do alive "$f" || break; sleep 0.1; done
      alive "$f" && kill -9 "$(cat "$f")" 2>/dev/null || true
    fi
  done
  if [ -f "$DIR/munged.started" ]; then
    pkill -u munge -x munged 2>/dev/null || true
    rm -f "$DIR/munged.started"
  fi
  # The state folder stays, so job ids keep growing across restarts as on a real cluster
  # (logs named by job id never collide); the node's spool goes.
  rm -rf "$DIR/spool"
  say "down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  status) node_up ;;
  *) die "usage: $0 up|down|env|status" ;;
esac
