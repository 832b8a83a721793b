"""Where each run of a sweep stands, from its workdir and the scheduler.

  python -m launch.status /shared/sweep

One line per run: its state, its last logged epoch (from metrics.jsonl), its SLURM job and log.
States: finished (summary.json written), pending or running (its job, as squeue reports it),
failed (its job ended without finishing the run: the error submitit recorded, or the job was
cancelled or killed; or the run diverged), not started (no job was submitted for it). The runs
are those `launch.slurm` submitted (`slurm_jobs.jsonl`) and any other run directory there.
"""

import dataclasses
import json
import os
import sys

from absl import app

from jaxgen import command_line, run_log
from jaxgen import config as config_lib
from launch import jobs


@dataclasses.dataclass(frozen=True)
class RunStatus:
  """One run's line of the status table."""

  run: str
  state: str  # pending, running, finished, failed or not started.
  epoch: float | None  # The last logged epoch; None before the first logging event.
  job_id: str | None
  log: str | None
  detail: str = ""  # Why it failed, or squeue's state where it says more than `state`.


def last_epoch(workdir: str) -> float | None:
  """The epoch of the last row of the run's metrics.jsonl, without parsing the other rows."""
  last = None
  try:
    with open(os.path.join(workdir, run_log.METRICS_FILE)) as f:
      for line in f:
        if line.strip():
          last = line
  except FileNotFoundError:
    return None
  return json.loads(last)["epoch"] if last else None


def run_names(root: str, recorded: dict[str, jobs.Job]) -> list[str]:
  """The submitted runs and every subdirectory of `root` that holds a run (a config.json)."""
  names = set(recorded)
  if os.path.isdir(root):
    names.update(name for name in os.listdir(root)
                 if config_lib.has_run_config(os.path.join(root, name)))
  return sorted(names)


def run_status(root: str, name: str, job: jobs.Job | None,
               states: dict[str, str] | None) -> RunStatus:
  """The status of run `name`; `states` is squeue's {job id: state}, None where unknown."""
  workdir = os.path.join(root, name)
  epoch = last_epoch(workdir)
  job_id, log = (job.job_id, job.log) if job else (None, None)
  summary = run_log.read_summary(workdir)
  if summary is not None:
    if "diverged" in summary:
      return RunStatus(name, "failed", epoch, job_id, log, summary["diverged"])
    return RunStatus(name, "finished", epoch, job_id, log)
  if job is None:
    return RunStatus(name, "not started", epoch, None, None)
  if states is None:
    return RunStatus(name, "unknown", epoch, job_id, log, "squeue did not answer")
  state = states.get(job.job_id)
  if state in jobs.PENDING_STATES:
    return RunStatus(name, "pending", epoch, job_id, log, "" if state == "PENDING" else state)
  if state in jobs.RUNNING_STATES:
    return RunStatus(name, "running", epoch, job_id, log, "" if state == "RUNNING" else state)
  error = jobs.task_error(job)
  reason = error or (f"job {state}" if state else "job ended without finishing the run")
  return RunStatus(name, "failed", epoch, job_id, log, reason)


def sweep_status(root: str) -> tuple[list[RunStatus], str | None]:
  """Every run's status, and the reason squeue could not be asked (None if it answered)."""
  recorded = jobs.recorded(root)
  states, problem = None, None
  if recorded:
    try:
      states = jobs.queue_states()
    except RuntimeError as error:
      problem = str(error)
  names = run_names(root, recorded)
  return [run_status(root, name, recorded.get(name), states) for name in names], problem


def format_table(statuses: list[RunStatus]) -> str:
  """The status lines, aligned, and a count per state."""
  header = ("run", "state", "epoch", "job", "log")
  rows = [(s.run, s.state + (f" ({s.detail})" if s.detail else ""),
           "-" if s.epoch is None else f"{s.epoch:g}", s.job_id or "-", s.log or "-")
          for s in statuses]
  widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
  lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)),
                      row[-1]]) for row in [header, *rows]]
  counts = {}
  for status in statuses:
    counts[status.state] = counts.get(status.state, 0) + 1
  lines.append(f"{len(statuses)} runs: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
  return "\n".join(lines)


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError("usage: python -m launch.status SWEEP_WORKDIR")
  root = argv[1]
  if not os.path.isdir(root):
    raise app.UsageError(f"{root} is not a directory")
  statuses, problem = sweep_status(root)
  print(format_table(statuses))
  if problem:
    print(f"Pending and running jobs are unknown: {problem}", file=sys.stderr)


if __name__ == "__main__":
  command_line.run(main)
