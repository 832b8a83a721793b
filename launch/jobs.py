"""The SLURM jobs of a sweep: the record `launch.slurm` keeps of them, and what `squeue` says.

`DIR/slurm_jobs.jsonl` gets one line per submitted run: {"run", "job_id", "log", "result",
"submitted"}; a run submitted again has a later line, which wins. `log` is the array task's
stdout and stderr (submitit's messages and jaxgen's log), `result` the file submitit writes when
the task ends ("success" or the error's traceback). Neither needs SLURM accounting (`sacct`).
"""

import dataclasses
import json
import os
import pickle
import subprocess
import time

RECORD_FILE = "slurm_jobs.jsonl"
LOG_DIR = "slurm_logs"

# squeue's job states, as launch.status reports them.
PENDING_STATES = frozenset({"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "CONFIGURING",
                            "RESIZING", "SUSPENDED", "STOPPED", "SPECIAL_EXIT"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"})


@dataclasses.dataclass(frozen=True)
class Job:
  """One run's array task: its SLURM job id ("<array id>_<index>") and submitit's files."""

  run: str
  job_id: str
  log: str
  result: str


def record(root: str, jobs: list[Job]) -> None:
  """Appends submitted jobs to the sweep's record."""
  submitted = time.strftime("%Y-%m-%dT%H:%M:%S")
  with open(os.path.join(root, RECORD_FILE), "a") as f:
    for job in jobs:
      f.write(json.dumps({**dataclasses.asdict(job), "submitted": submitted}) + "\n")


def recorded(root: str) -> dict[str, Job]:
  """The latest job of each run submitted from `root` (empty if none was)."""
  path = os.path.join(root, RECORD_FILE)
  if not os.path.exists(path):
    return {}
  jobs = {}
  with open(path) as f:
    for line in f:
      if line.strip():
        entry = json.loads(line)
        jobs[entry["run"]] = Job(entry["run"], entry["job_id"], entry["log"], entry["result"])
  return jobs


def queue_states() -> dict[str, str]:
  """{job id: state} of this user's jobs that squeue knows (finished ones for a few minutes).

  Raises:
    RuntimeError: if squeue is missing or cannot reach the controller.
  """
  try:
    process = subprocess.run(["squeue", "--me", "--array", "--states=all", "--noheader",
                              "--format=%i %T"], capture_output=True, text=True, timeout=60,
                             check=False)
  except (OSError, subprocess.TimeoutExpired) as error:
    raise RuntimeError(f"squeue failed: {error}") from error
  if process.returncode != 0:
    raise RuntimeError(f"squeue failed: {process.stderr.strip()}")
  return dict(line.split()[:2] for line in process.stdout.splitlines() if line.strip())


def is_live(state: str | None) -> bool:
  """Whether a job in this squeue state will still run (or runs now)."""
  return state in PENDING_STATES or state in RUNNING_STATES


def task_error(job: Job) -> str | None:
  """The last line of the error an ended task reported through submitit, if it failed."""
  if not os.path.exists(job.result):
    return None
  try:
    with open(job.result, "rb") as f:
      outcome, value = pickle.load(f)
  except Exception as error:  # A result written by another submitit version, or truncated.
    return f"unreadable result {job.result}: {error!r}"
  if outcome == "success":
    return None
  lines = [line for line in str(value).splitlines() if line.strip()]
  return lines[-1] if lines else outcome
