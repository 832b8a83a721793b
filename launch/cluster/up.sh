#!/usr/bin/env bash
# Brings up a single-node SLURM cluster on this machine (for the tests and for trying
# launch.slurm); launch/cluster/down.sh stops it again.
#
#   launch/cluster/up.sh
#   export SLURM_CONF=/tmp/jaxgen-slurm/slurm.conf   # as printed; see below
#
# Needs root (it runs munged, slurmctld and slurmd) and, unless `slurm-wlm` and `munge` are
# installed, apt-get. Everything it writes (munge key and socket, slurm.conf, daemon state,
# logs, pid files) goes to $JAXGEN_SLURM_DIR (default /tmp/jaxgen-slurm). Clients find the
# cluster through SLURM_CONF=$JAXGEN_SLURM_DIR/slurm.conf; when /etc/slurm/slurm.conf does not
# exist, it is also linked there so that sbatch, squeue, srun, ... work without SLURM_CONF.
# Jobs inherit the environment of sbatch (PATH, a virtualenv, PYTHONPATH) as usual.
#
# The node is this machine (its hostname, CPUs and memory, as `slurmd -C` reports them; no GPUs
# are configured) in one partition, $JAXGEN_SLURM_PARTITION (default "debug"); slurmctld and
# slurmd listen on $JAXGEN_SLURM_PORT (default 6817) and the port after it. There is no
# accounting: `sacct` does not work. Idempotent: if the daemons this script started are up, it
# says so and exits 0.
set -euo pipefail

DIR="${JAXGEN_SLURM_DIR:-/tmp/jaxgen-slurm}"
PARTITION="${JAXGEN_SLURM_PARTITION:-debug}"
PORT="${JAXGEN_SLURM_PORT:-6817}"  # slurmctld's; slurmd listens on the next port.
export SLURM_CONF="$DIR/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"

alive() {  # alive NAME: the daemon whose pid file up.sh had it write is running.
  [[ -f "$DIR/$1.pid" ]] && kill -0 "$(cat "$DIR/$1.pid")" 2>/dev/null
}

if alive munged && alive slurmctld && alive slurmd && sinfo -h >/dev/null 2>&1; then
  echo "SLURM cluster already up (state in $DIR)."
  echo "export SLURM_CONF=$SLURM_CONF"
  exit 0
fi
if [[ $EUID -ne 0 ]]; then
  echo "up.sh: must run as root (it starts munged, slurmctld and slurmd)." >&2
  exit 1
fi
# Leftovers of a half-started cluster (e.g. slurmctld died) are stopped before starting afresh.
"$(dirname "$0")/down.sh" >/dev/null 2>&1 || true

mkdir -p "$DIR/munge" "$DIR/slurmctld" "$DIR/slurmd"
missing=0
for command in munged mungekey slurmctld slurmd sbatch; do
  command -v "$command" >/dev/null || missing=1
done
if (( missing )); then
  echo "Installing slurm-wlm and munge with apt-get (about a minute)..."
  export DEBIAN_FRONTEND=noninteractive
  packages=(slurm-wlm munge)
  apt-get install -y -q --no-install-recommends "${packages[@]}" >"$DIR/apt.log" 2>&1 \
    || { apt-get update -q >>"$DIR/apt.log" 2>&1 \
         && apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$DIR/apt.log" 2>&1; } \
    || { echo "up.sh: apt-get could not install ${packages[*]}; see $DIR/apt.log" >&2; exit 1; }
fi

chmod 700 "$DIR/munge"
[[ -f "$DIR/munge/munge.key" ]] || mungekey --create --keyfile="$DIR/munge/munge.key"
chmod 600 "$DIR/munge/munge.key"
munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
  --pid-file="$DIR/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed"

host="$(hostname -s)"
# NodeName=<host> CPUs=... Boards=... SocketsPerBoard=... CoresPerSocket=... RealMemory=...
node="$(slurmd -C | head -n 1)"
cpus="$(sed -E 's/.* CPUs=([0-9]+).*/\1/' <<<"$node")"
memory="$(sed -E 's/.* RealMemory=([0-9]+).*/\1/' <<<"$node")"
cat >"$SLURM_CONF" <<CONF
# Written by launch/cluster/up.sh: one node ($host), no accounting.
ClusterName=jaxgen
SlurmctldHost=$host
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again (default 120 s);
# with frequent scheduling passes a requeued job restarts within seconds.
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=5
SchedulerParameters=sched_interval=2,bf_interval=2
StateSaveLocation=$DIR/slurmctld
SlurmdSpoolDir=$DIR/slurmd
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=10
# Finished jobs stay visible to squeue --states=all for 5 minutes.
MinJobAge=300
# Each job gets memory in proportion to its CPUs unless it asks (--mem), so jobs share the node.
DefMemPerCPU=$((memory / cpus))
$node State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

# -c: start with an empty queue rather than recovering the jobs of an earlier cluster.
slurmctld -c
slurmd -c

for _ in $(seq 60); do
  state="$(sinfo -h -n "$host" -o %t 2>/dev/null || true)"
  [[ "$state" == idle ]] && break
  sleep 1
done
if [[ "$state" != idle ]]; then
  echo "up.sh: node $host is '${state:-not reporting}' after 60 s; see $DIR/slurmctld.log" \
       "and $DIR/slurmd.log" >&2
  exit 1
fi

if [[ ! -e /etc/slurm/slurm.conf || "$(readlink /etc/slurm/slurm.conf)" == "$SLURM_CONF" ]]; then
  mkdir -p /etc/slurm && ln -sfn "$SLURM_CONF" /etc/slurm/slurm.conf
  where="linked from /etc/slurm/slurm.conf, so clients find it without SLURM_CONF"
else
  where="/etc/slurm/slurm.conf belongs to another cluster: set SLURM_CONF"
fi
echo "SLURM cluster up: node $host ($cpus CPUs, ${memory} MB), partition $PARTITION."
echo "Config $SLURM_CONF ($where); logs and pid files in $DIR."
echo "export SLURM_CONF=$SLURM_CONF"
