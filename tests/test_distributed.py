"""One run over 2 processes x 2 CPU devices (jax.distributed) equals the same run in one
process with 4 devices, and resumes: started by hand with an explicit coordinator and stopped
by a SIGTERM to one process, and by `srun` in a SLURM job (auto-detected; marker `slurm`)
killed with scancel.

The run: 2 seeds, the mesh (seeds=1, data=4), so every step all-reduces the gradients and
batch statistics across the two processes (gloo), with batch norm and the per-layer metrics
gathered to the host at every logging event.
"""

import os
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgen import checkpoints, run_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "tests", "distributed_worker.py")

CONFIG_FILE = """
from configs import default
from jaxgen.config import apply_overrides


def get_config():
  config = default.get_config()
  apply_overrides(config, {
      "seeds": (0, 1),
      "data.name": "mnist_embedded",
      "data.train_per_class": 20,  # 200 examples: 6 steps of 32 per epoch.
      "model": {"name": "mlp", "widths": (32,), "batch_norm": True, "dropout_rate": 0.0},
      "optim.learning_rate": 0.1,
      "train.batch_size": 32,
      "train.eval_batch_size": 500,  # The 1,000 test digits in 2 batches.
      "train.num_epochs": 3,
      "train.log_every_steps": 2,
      "logging.tensorboard": False,
      "logging.figures": False,
  })
  return config
"""
TOTAL_STEPS, LAST_CHECKPOINT_BEFORE_KILL, KILLED_AFTER = 18, 6, 8
TIMEOUT_S = 300  # Per launch; generous because the test machine may be shared.
# The 2-process run sums gradients and batch statistics across processes with gloo, not with
# XLA's in-process all-reduce: float32 sums round differently in their last bits. Measured after
# 18 steps: relative differences up to 5e-6 (absolute 6e-6 on batch-norm variances of 25).
ATOL = RTOL = 1e-5


def _env(num_devices: int) -> dict[str, str]:
  return dict(
      os.environ,
      PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
      JAX_COMPILATION_CACHE_DIR=(os.environ.get("JAX_COMPILATION_CACHE_DIR")
                                 or jax.config.jax_compilation_cache_dir),
      # Every launch compiles the same small programs: cache them all.
      JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
      JAX_PLATFORMS="cpu",
      XLA_FLAGS=f"--xla_force_host_platform_device_count={num_devices}",
  )


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log_path) -> subprocess.Popen:
  # Output to a file: a full pipe would block a process inside a collective.
  with open(log_path, "w") as log:
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _start_by_hand(config_file, workdir, log_prefix, *extra) -> list[subprocess.Popen]:
  """Starts the run's 2 processes with an explicit coordinator; logs to log_prefix{i}.log."""
  address = f"localhost:{_free_port()}"
  return [
      _start([sys.executable, WORKER, f"--config={config_file}", f"--workdir={workdir}",
              "--distributed", f"--coordinator_address={address}", "--num_processes=2",
              f"--process_id={i}", *extra], _env(2), f"{log_prefix}{i}.log")
      for i in range(2)]


def _logs(log_prefix) -> str:
  return "\n".join(f"--- process {i}:\n" + open(f"{log_prefix}{i}.log").read()[-3000:]
                   for i in range(2))


def _wait(procs, log_prefix, returncode: int = 0) -> None:
  """Waits for every process to exit with `returncode`; kills them all and fails on another
  exit or a timeout."""
  deadline = time.time() + TIMEOUT_S
  try:
    for proc in procs:
      proc.wait(timeout=max(deadline - time.time(), 1))
  except subprocess.TimeoutExpired:
    _kill(procs)
    pytest.fail(f"the run did not finish in {TIMEOUT_S} s\n{_logs(log_prefix)}")
  if any(proc.returncode != returncode for proc in procs):
    _kill(procs)
    pytest.fail(f"exit codes {[p.returncode for p in procs]}, not {returncode}\n"
                f"{_logs(log_prefix)}")


def _kill(procs: list[subprocess.Popen]) -> None:
  for proc in procs:
    proc.kill()
    proc.wait()


def _check_killed(workdir) -> None:
  """Stopped mid-epoch: rows logged past the last checkpoint, and no summary."""
  assert checkpoints.saved_steps(str(workdir)) == [0, LAST_CHECKPOINT_BEFORE_KILL]
  assert max(step for step, _, _ in _events(workdir)) == KILLED_AFTER
  assert run_log.read_summary(str(workdir)) is None


def _final_state(workdir) -> list[np.ndarray]:
  state = checkpoints.load(str(workdir))
  assert state["step"] == TOTAL_STEPS
  return jax.tree.leaves((state["params"], state["batch_stats"]))


def _events(workdir) -> list[tuple[int, int, str]]:
  return [(row["step"], row["seed"], row["split"]) for row in run_log.read_metrics(str(workdir))]


def _without_wall_time(workdir) -> list[dict]:
  return [{k: v for k, v in row.items() if k != "wall_time"}
          for row in run_log.read_metrics(str(workdir))]


def test_distributed_outside_a_cluster_without_a_coordinator_says_what_to_give():
  # In a fresh process: jax.distributed must be the first JAX call, which in the test process
  # (other tests ran JAX already) it cannot be.
  env = {name: value for name, value in _env(1).items()  # What JAX's cluster detection reads.
         if not name.startswith(("SLURM_", "OMPI_", "PMI_", "JAX_COORDINATOR"))}
  code = ("from jaxgen import distributed\n"
          "try:\n"
          "  distributed.initialize()\n"
          "except ValueError as error:\n"
          "  print('ValueError:', error)\n"
          "import jax; print('processes:', jax.process_count())\n")
  out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                       text=True, timeout=120, check=True).stdout
  assert "ValueError:" in out and "(--coordinator_address, --num_processes, --process_id)" in out
  assert "processes: 1" in out


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
  path = tmp_path_factory.mktemp("config") / "tiny_distributed.py"
  path.write_text(CONFIG_FILE)
  return str(path)


@pytest.fixture(scope="module")
def one_process_run(config_file, tmp_path_factory):
  """The workdir of the run in one process with 4 devices: the reference."""
  root = tmp_path_factory.mktemp("one_process")
  proc = _start([sys.executable, "-m", "jaxgen.main", f"--config={config_file}",
                 f"--workdir={root / 'run'}"], _env(4), root / "log0.log")
  try:
    proc.wait(timeout=TIMEOUT_S)
  finally:
    proc.kill()
  assert proc.returncode == 0, (root / "log0.log").read_text()[-3000:]
  return root / "run"


def _check_matches_one_process_run(workdir, one_process_run) -> None:
  """The final state and the logged values of `workdir` are those of the 1-process run, and
  process 0 alone wrote the run's files (each event logged once)."""
  expected = _final_state(one_process_run)
  for a, b in zip(_final_state(workdir), expected, strict=True):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
  # Training moved the parameters far more than the tolerance.
  initial = jax.tree.leaves(checkpoints.load(str(one_process_run), step=0)["params"])
  final = jax.tree.leaves(checkpoints.load(str(one_process_run))["params"])
  assert max(np.abs(a - b).max() for a, b in zip(initial, final, strict=True)) > 100 * ATOL

  assert _events(workdir) == _events(one_process_run)
  for row, expected_row in zip(_without_wall_time(workdir), _without_wall_time(one_process_run),
                               strict=True):
    assert row.keys() == expected_row.keys()
    assert row["accuracy"] == pytest.approx(expected_row["accuracy"], abs=1e-6)
    assert row["loss"] == pytest.approx(expected_row["loss"], rel=1e-4)
  assert run_log.read_summary(str(workdir))["final_step"] == TOTAL_STEPS
  assert sorted(os.listdir(workdir)) == sorted(os.listdir(one_process_run))


def _rows_at(workdir, step: int) -> list[dict]:
  return [row for row in _without_wall_time(workdir) if row["step"] == step]


def test_two_processes_by_hand_train_the_one_process_run_and_resume_after_sigterm(
    config_file, one_process_run, tmp_path):
  workdir, log_prefix = tmp_path / "run", tmp_path / "log"
  # SIGTERM to process 1 alone: both processes stop at the same safe point (step 8).
  procs = _start_by_hand(config_file, workdir, log_prefix, f"--sigterm_at_step={KILLED_AFTER}")
  _wait(procs, log_prefix, returncode=128 + signal.SIGTERM)
  assert f"Interrupted at step {KILLED_AFTER}" in (tmp_path / "log0.log").read_text()
  _check_killed(workdir)
  logged_before_kill = _rows_at(workdir, KILLED_AFTER)

  log_prefix = tmp_path / "resumed"
  _wait(_start_by_hand(config_file, workdir, log_prefix), log_prefix)
  assert f"from step {LAST_CHECKPOINT_BEFORE_KILL}" in (tmp_path / "resumed0.log").read_text()
  # The resumed run retraced the steps after its checkpoint exactly: bit-equal metrics.
  assert _rows_at(workdir, KILLED_AFTER) == logged_before_kill
  _check_matches_one_process_run(workdir, one_process_run)


# The README's multi-process job, shrunk to 2 CPU tasks; jax.distributed finds the coordinator,
# the process count and each process's id in srun's environment.
JOB_SCRIPT = """#!/bin/bash
#SBATCH --job-name=jaxgen-distributed-test
#SBATCH --ntasks=2
#SBATCH --cpus-per-task=1
#SBATCH --output={log}
srun {python} {worker} --config={config} --workdir={workdir} --distributed "$@"
"""


def _sbatch(script, options=(), script_args=()) -> subprocess.CompletedProcess:
  return subprocess.run(["sbatch", "--parsable", *options, str(script), *script_args],
                        env=_env(2), cwd=ROOT, capture_output=True, text=True,
                        timeout=TIMEOUT_S + 60, check=False)


def _job_state(job_id: str) -> str:
  """The job's state; "" once SLURM no longer lists it."""
  listed = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T"], capture_output=True,
                          text=True, timeout=30, check=False)
  return listed.stdout.strip()


def test_srun_job_trains_the_run_and_resumes_after_scancel(slurm_cluster, config_file,
                                                           one_process_run, tmp_path):
  workdir, marker, log = tmp_path / "run", tmp_path / "hung", tmp_path / "job.log"
  script = tmp_path / "job.sh"
  script.write_text(JOB_SCRIPT.format(log=log, python=sys.executable, worker=WORKER,
                                      config=config_file, workdir=workdir))
  submitted = _sbatch(script, script_args=(f"--hang_at_step={KILLED_AFTER}",
                                           f"--hang_marker={marker}"))
  assert submitted.returncode == 0, submitted.stderr
  job_id = submitted.stdout.strip().split(";")[0]
  try:
    deadline = time.time() + TIMEOUT_S
    while not os.path.exists(marker):
      state = _job_state(job_id)
      if time.time() > deadline or state not in ("PENDING", "CONFIGURING", "RUNNING"):
        pytest.fail(f"job {job_id} ({state or 'gone'}) never reached step {KILLED_AFTER}\n"
                    + (log.read_text()[-3000:] if log.exists() else ""))
      time.sleep(0.5)
  finally:
    # SIGKILL at once: the frozen processes never reach the safe point where a SIGTERM would
    # end them, so a plain scancel would kill them only after the cluster's KillWait.
    subprocess.run(["scancel", "--signal=KILL", job_id], timeout=30, check=False)
  deadline = time.time() + 60
  while _job_state(job_id):
    assert time.time() < deadline, f"job {job_id} still listed a minute after scancel"
    time.sleep(0.5)
  _check_killed(workdir)
  logged_before_kill = _rows_at(workdir, KILLED_AFTER)

  resumed_log = tmp_path / "resumed.log"
  resumed = _sbatch(script, options=("--wait", f"--output={resumed_log}"))
  output = resumed_log.read_text() if resumed_log.exists() else ""
  assert resumed.returncode == 0, (resumed.stderr + output)[-3000:]
  assert f"from step {LAST_CHECKPOINT_BEFORE_KILL}" in output
  assert _rows_at(workdir, KILLED_AFTER) == logged_before_kill
  _check_matches_one_process_run(workdir, one_process_run)
