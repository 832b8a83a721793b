#!/usr/bin/env bash
# Stops the single-node SLURM cluster of launch/cluster/up.sh: cancels its jobs, then stops
# the daemons up.sh started (slurmd, slurmctld, munged), by the pids recorded in
# $JAXGEN_SLURM_DIR (default /tmp/jaxgen-slurm). Other SLURM or munge daemons are left alone.
# Logs stay in that directory.
set -uo pipefail

DIR="${JAXGEN_SLURM_DIR:-/tmp/jaxgen-slurm}"
export SLURM_CONF="$DIR/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"

running() {  # running NAME: prints the pid of NAME recorded in DIR if that process runs NAME.
  local pid
  pid="$(cat "$DIR/$1.pid" 2>/dev/null)" || return 1
  [[ -n "$pid" && "$(ps -o comm= -p "$pid" 2>/dev/null)" == "$1" ]] && echo "$pid"
}

stop() {  # stop NAME: SIGTERM, then SIGKILL after 15 s.
  local pid
  pid="$(running "$1")" || { rm -f "$DIR/$1.pid"; return 0; }
  kill "$pid"
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$DIR/$1.pid"
  echo "stopped $1 ($pid)"
}

# Job steps run under slurmstepd, which outlives slurmd: end the jobs while slurmd can.
if running slurmctld >/dev/null && running slurmd >/dev/null; then
  jobs="$(squeue -h -o %F 2>/dev/null | sort -u)"
  if [[ -n "$jobs" ]]; then
    scancel $jobs
    for _ in $(seq 30); do
      [[ -z "$(squeue -h -o %i 2>/dev/null)" ]] && break
      sleep 1
    done
  fi
fi
stop slurmd
stop slurmctld
stop munged
if [[ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" == "$SLURM_CONF" ]]; then
  rm -f /etc/slurm/slurm.conf
fi
