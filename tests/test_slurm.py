"""`launch.slurm` and `launch.status` against a real single-node SLURM cluster.

One module fixture submits two sweeps with `python -m launch.slurm`: four one-epoch runs as a
job array, and one longer run that is sent USR2 (as on preemption or an expiring time limit)
once it has logged an epoch. Meanwhile `launch.local` trains the same runs, for reference.
The tests that use it are marked `slurm` (by the `slurm_cluster` fixture); the last one needs
no cluster.
"""

import concurrent.futures
import json
import os
import pickle
import re
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgen import checkpoints, run_log
from launch import jobs, local, status, sweep

SWEEP = """
from tests.conftest import make_tiny_config
def get_config():
  return make_tiny_config(**{"train.num_epochs": 1})
def get_sweep():
  return [{"optim.learning_rate": lr} for lr in (0.05, 0.1, 0.2, 0.4)]
"""
# Long enough (40 epochs of ~0.3 s, a checkpoint each) for the signal to land mid-training.
LONG = """
from tests.conftest import make_tiny_config
def get_config():
  return make_tiny_config(**{"data.name": "mnist_embedded", "train.batch_size": 32,
                             "train.num_epochs": 40, "model.widths": (256,)})
def get_sweep():
  return [{}]
"""
TIMEOUT_S = 300


def _launch_slurm(config: str, root: str, *flags: str, returncode: int = 0
                  ) -> subprocess.CompletedProcess:
  # A subprocess, as a user runs it (launch.slurm and launch.local define the same flags).
  process = subprocess.run([sys.executable, "-m", "launch.slurm", f"--config={config}",
                            f"--workdir={root}", "--seeds=0", *flags], capture_output=True,
                           text=True, timeout=120, check=False)
  assert process.returncode == returncode, process.stderr
  return process


def _wait(condition, what: str, logs: list[str]):
  deadline = time.monotonic() + TIMEOUT_S
  while not condition():
    if time.monotonic() > deadline:
      tails = "\n".join(f"--- {log}\n{_read(log)[-2000:]}" for log in logs)
      pytest.fail(f"timed out waiting for {what}\n{tails}")
    time.sleep(0.2)


def _read(path: str) -> str:
  try:
    with open(path) as f:
      return f.read()
  except FileNotFoundError:
    return ""


@pytest.fixture(scope="module")
def cluster_sweeps(slurm_cluster, tmp_path_factory):
  """Submits both sweeps, trains them locally too, signals the long run, waits for the end."""
  del slurm_cluster
  tmp = tmp_path_factory.mktemp("slurm")
  configs = {name: tmp / f"{name}.py" for name in ("sweep", "long")}
  configs["sweep"].write_text(SWEEP)
  configs["long"].write_text(LONG)
  roots = {key: str(tmp / key) for key in ("sweep", "long", "local_sweep", "local_long")}
  _launch_slurm(str(configs["long"]), roots["long"])
  _launch_slurm(str(configs["sweep"]), roots["sweep"])
  seen = {"submitted": status.sweep_status(roots["sweep"])[0]}
  with concurrent.futures.ThreadPoolExecutor(2) as pool:
    local_codes = [pool.submit(local.run_sweep, str(configs[name]), roots[f"local_{name}"],
                               sweep.expand(str(configs[name]), seeds=(0,)), 1)
                   for name in ("sweep", "long")]
    long_job = jobs.recorded(roots["long"])["base"]
    # Signalled once a checkpoint past the initialisation is committed: a signal during the
    # first save would (rightly) resume from step 0, which shows less.
    _wait(lambda: max(checkpoints.saved_steps(os.path.join(roots["long"], "base")),
                      default=0) > 0,
          "the long run's first checkpoint", [long_job.log])
    seen["signalled"] = status.sweep_status(roots["long"])[0]
    subprocess.run(["scancel", "--signal=USR2", long_job.job_id], check=True)
    runs = [os.path.join(roots[name], run.name) for name in ("sweep", "long")
            for run in sweep.expand(str(configs[name]), seeds=(0,))]
    logs = [job.log for name in ("sweep", "long") for job in jobs.recorded(roots[name]).values()]
    _wait(lambda: all(os.path.exists(os.path.join(run, run_log.SUMMARY_FILE)) for run in runs),
          "every SLURM run to finish", logs)
    assert [future.result() for future in local_codes] == [
        dict.fromkeys([run.name for run in sweep.expand(str(configs[name]), seeds=(0,))], 0)
        for name in ("sweep", "long")]
  return {"configs": configs, "roots": roots, "seen": seen,
          "long_job": long_job}


def _assert_same_final_parameters(workdir: str, reference: str):
  ours, theirs = checkpoints.load(workdir), checkpoints.load(reference)
  assert ours["step"] == theirs["step"]
  paths_ours, leaves_ours = zip(*jax.tree_util.tree_leaves_with_path(ours["params"]), strict=True)
  paths_theirs, leaves_theirs = zip(*jax.tree_util.tree_leaves_with_path(theirs["params"]),
                                    strict=True)
  assert paths_ours == paths_theirs
  for path, a, b in zip(paths_ours, leaves_ours, leaves_theirs, strict=True):
    np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))


def test_sweep_is_one_job_array_whose_runs_equal_local_runs_bit_for_bit(cluster_sweeps):
  roots = cluster_sweeps["roots"]
  recorded = jobs.recorded(roots["sweep"])
  assert sorted(recorded) == sorted(run.name for run in sweep.expand(
      str(cluster_sweeps["configs"]["sweep"]), seeds=(0,)))
  array_ids = {job.job_id.split("_")[0] for job in recorded.values()}
  assert len(array_ids) == 1 and sorted(job.job_id.split("_")[1] for job in recorded.values()) \
      == ["0", "1", "2", "3"]
  for name, job in recorded.items():
    assert job.log.startswith(os.path.join(roots["sweep"], jobs.LOG_DIR))
    assert "Job completed successfully" in _read(job.log)
    _assert_same_final_parameters(os.path.join(roots["sweep"], name),
                                  os.path.join(roots["local_sweep"], name))


def test_submitting_a_finished_sweep_again_submits_nothing(cluster_sweeps):
  root = cluster_sweeps["roots"]["sweep"]
  record = _read(os.path.join(root, jobs.RECORD_FILE))
  output = _launch_slurm(str(cluster_sweeps["configs"]["sweep"]), root).stdout
  assert "Nothing to submit." in output and output.count("finished ") == 4
  assert _read(os.path.join(root, jobs.RECORD_FILE)) == record


def test_a_run_finished_with_another_config_is_refused_as_by_launch_local(cluster_sweeps):
  root = cluster_sweeps["roots"]["sweep"]
  record = _read(os.path.join(root, jobs.RECORD_FILE))
  process = _launch_slurm(str(cluster_sweeps["configs"]["sweep"]), root,
                          "--set=optim.momentum=0.5", returncode=1)
  name = "optim.learning_rate=0.05"
  assert (f"{name}: finished with another config; delete it to re-run. workdir "
          f"{os.path.join(root, name)} holds a run with a different config "
          "(config.optim.momentum: 0.9 -> 0.5)") in process.stderr
  assert process.stderr.count("REFUSED") == 4 and "Nothing to submit." in process.stdout
  assert _read(os.path.join(root, jobs.RECORD_FILE)) == record


def test_dry_run_prints_the_plan_and_submits_nothing(cluster_sweeps, tmp_path):
  root = str(tmp_path / "sweep")
  output = _launch_slurm(str(cluster_sweeps["configs"]["sweep"]), root, "--dry_run",
                         "--partition=debug", "--time=5", "--sbatch=exclude=nowhere").stdout
  names = [run.name for run in sweep.expand(str(cluster_sweeps["configs"]["sweep"]), (0,))]
  assert [line for line in output.splitlines() if line.startswith("would submit")] == [
      f"would submit {name} -> {os.path.join(root, name)}" for name in names]
  assert "as one job array of 4 tasks" in output
  assert "'slurm_partition': 'debug'" in output and "'timeout_min': 5" in output
  assert "'slurm_additional_parameters': {'exclude': 'nowhere'}" in output
  assert not os.path.exists(root)


def test_signalled_run_is_requeued_and_resumes_to_the_uninterrupted_parameters(cluster_sweeps):
  roots, job = cluster_sweeps["roots"], cluster_sweeps["long_job"]
  log = _read(job.log)
  assert "Caught signal SIGUSR2" in log and f"Requeued job {job.job_id}" in log
  resumed = re.findall(r"Resuming \S+ from step (\d+)\.", log)
  steps_per_epoch = 125  # 4,000 training digits of mnist_embedded in batches of 32.
  assert len(resumed) == 1, log[-3000:]
  assert 0 < int(resumed[0]) < 40 * steps_per_epoch, "the signal landed after training ended"
  _assert_same_final_parameters(os.path.join(roots["long"], "base"),
                                os.path.join(roots["local_long"], "base"))
  rows = run_log.read_metrics(os.path.join(roots["long"], "base"))
  reference = run_log.read_metrics(os.path.join(roots["local_long"], "base"))
  keys = [(row["step"], row["seed"], row["split"]) for row in rows]
  assert len(set(keys)) == len(keys) == len(reference) == 80
  without_time = lambda rows: [{k: v for k, v in row.items() if k != "wall_time"} for row in rows]
  assert without_time(rows) == without_time(reference)


def test_status_reports_each_run_from_the_workdirs_and_squeue(cluster_sweeps, tmp_path):
  roots, seen = cluster_sweeps["roots"], cluster_sweeps["seen"]
  assert {s.state for s in seen["submitted"]} <= {"pending", "running"}
  assert len(seen["submitted"]) == 4
  [long_run] = seen["signalled"]
  assert long_run.state == "running" and long_run.epoch >= 1
  statuses, problem = status.sweep_status(roots["sweep"])
  assert problem is None
  recorded = jobs.recorded(roots["sweep"])
  assert [(s.run, s.state, s.epoch, s.job_id, s.log) for s in statuses] == [
      (name, "finished", 1.0, recorded[name].job_id, recorded[name].log)
      for name in sorted(recorded)]
  table = status.format_table(statuses).splitlines()
  assert table[0].split() == ["run", "state", "epoch", "job", "log"]
  assert table[1].split() == [statuses[0].run, "finished", "1", statuses[0].job_id,
                              statuses[0].log]
  assert table[-1] == "4 runs: 4 finished"


def test_status_of_failed_pending_and_unsubmitted_runs(tmp_path):
  root = str(tmp_path)
  for name in ("crashed", "queued", "stray"):
    os.makedirs(os.path.join(root, name))
    with open(os.path.join(root, name, "config.json"), "w") as f:
      json.dump({}, f)
  with open(os.path.join(root, "queued", run_log.METRICS_FILE), "w") as f:
    f.write(json.dumps({"step": 4, "epoch": 2, "seed": 0, "split": "train"}) + "\n")
  result = str(tmp_path / "7_0_result.pkl")
  with open(result, "wb") as f:
    pickle.dump(("error", "Traceback (most recent call last):\nValueError: boom\n"), f)
  jobs.record(root, [jobs.Job("crashed", "7_0", "crashed.log", result),
                     jobs.Job("queued", "7_1", "queued.log", str(tmp_path / "none.pkl")),
                     jobs.Job("lost", "7_2", "lost.log", str(tmp_path / "none.pkl"))])
  states = {"7_1": "PENDING", "7_2": "CANCELLED"}
  recorded = jobs.recorded(root)
  got = {name: status.run_status(root, name, recorded.get(name), states)
         for name in status.run_names(root, recorded)}
  assert [(name, s.state, s.epoch, s.detail) for name, s in got.items()] == [
      ("crashed", "failed", None, "ValueError: boom"),
      ("lost", "failed", None, "job CANCELLED"),
      ("queued", "pending", 2, ""),
      ("stray", "not started", None, "")]
