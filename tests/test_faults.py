"""Faults a run survives: damaged checkpoints, kills while writing its files, NaN states,
a second process on its workdir, and SIGINT/SIGTERM from the command line."""

import json
import logging
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgen import checkpoints, files, interrupts, run_log, train, workdir_lock
from jaxgen.config import ConfigError, read_run_config
from jaxgen.config.saved import CONFIG_FILE
from launch import local, sweep

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "run_saved_before_redesign")
STEPS_PER_EPOCH = 11  # 1,497 training digits in batches of 128.
# Every epoch's checkpoint is kept, so a damaged latest one has intact predecessors.
RUN = {"train.num_epochs": 3, "checkpoint.snapshot_every_epochs": 1}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished 3-epoch run (checkpoints at steps 0, 11, 22, 33) and its result."""
  from tests.conftest import make_tiny_config

  workdir = str(tmp_path_factory.mktemp("finished"))
  return workdir, train.train_and_evaluate(make_tiny_config(**RUN), workdir)


def _copy(finished, path) -> str:
  shutil.copytree(finished[0], path)
  return str(path)


def _without_time(workdir: str) -> list[dict]:
  return [{k: v for k, v in row.items() if k != "wall_time"}
          for row in run_log.read_metrics(workdir)]


def _assert_same_state(a, b) -> None:
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _largest_data_file(step_dir: str) -> str:
  paths = [os.path.join(root, name) for root, _, names in os.walk(step_dir) for name in names
           if os.sep + "d" + os.sep in os.path.join(root, name)]
  return max(paths, key=os.path.getsize)


def _flip_byte(step_dir: str) -> str:
  path = pathlib.Path(_largest_data_file(step_dir))
  data = bytearray(path.read_bytes())
  data[len(data) // 2] ^= 0x01
  path.write_bytes(bytes(data))
  return str(path)


def _truncate(step_dir: str) -> str:
  path = _largest_data_file(step_dir)
  os.truncate(path, os.path.getsize(path) // 2)
  return path


def _drop_metadata(step_dir: str) -> str:
  path = os.path.join(step_dir, "default", "_METADATA")
  os.remove(path)
  return path


@pytest.mark.parametrize("damage", [_flip_byte, _truncate, _drop_metadata],
                         ids=["flipped_byte", "truncated", "missing_metadata"])
def test_damaged_latest_checkpoint_is_detected_and_the_run_resumes_from_the_previous_step(
    finished, tiny_config, tmp_path, caplog, damage):
  workdir = _copy(finished, tmp_path / "run")
  step_dir = checkpoints.step_dir(checkpoints.checkpoint_dir(workdir), 33)
  damaged_file = damage(step_dir)

  with pytest.raises(checkpoints.DamagedCheckpointError) as error:
    checkpoints.load(workdir, 33)
  assert "checkpoint step 33" in str(error.value) and damaged_file in str(error.value)
  assert checkpoints.load(workdir, 22)["step"] == 22  # Its predecessors still load.

  with caplog.at_level(logging.WARNING):
    resumed = train.train_and_evaluate(tiny_config(**RUN), workdir)
  lines = [r.getMessage() for r in caplog.records if "Damaged checkpoint" in r.getMessage()]
  assert len(lines) == 1
  assert "step 33" in lines[0] and damaged_file in lines[0]
  assert "resuming from step 22, the newest checkpoint that verifies" in lines[0]
  # Retrained from step 22, the run ends exactly where the undamaged one did.
  _assert_same_state(resumed.state, finished[1].state)
  assert _without_time(workdir) == _without_time(finished[0])
  assert checkpoints.saved_steps(workdir) == [0, 11, 22, 33]
  assert checkpoints.verify(checkpoints.checkpoint_dir(workdir), 33)
  assert os.listdir(os.path.join(workdir, checkpoints.DAMAGED_DIR)) == ["33"]


def test_checkpoints_saved_before_checksums_still_load_unverified(tmp_path, caplog):
  workdir = shutil.copytree(FIXTURE, tmp_path / "old")
  with caplog.at_level(logging.WARNING):
    loaded = checkpoints.load(str(workdir), 11)
  assert loaded["step"] == 11
  assert any("no recorded checksums" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("target", [run_log.METRICS_FILE, CONFIG_FILE, run_log.SUMMARY_FILE])
def test_a_kill_while_a_run_file_is_replaced_loses_nothing(finished, tiny_config, tmp_path,
                                                           monkeypatch, target):
  # A run killed after its step-22 checkpoint: its log already holds the rows of step 33.
  workdir = _copy(finished, tmp_path / "run")
  shutil.rmtree(checkpoints.step_dir(checkpoints.checkpoint_dir(workdir), 33))
  os.remove(os.path.join(workdir, run_log.SUMMARY_FILE))
  before = {name: pathlib.Path(workdir, name).read_text()
            for name in (run_log.METRICS_FILE, CONFIG_FILE)}

  original = os.replace

  def killed_replace(source, destination):
    if os.path.basename(destination) == target:
      raise KeyboardInterrupt  # Killed between writing the new file and renaming it.
    original(source, destination)

  monkeypatch.setattr(os, "replace", killed_replace)
  with pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(tiny_config(**RUN), workdir)
  monkeypatch.setattr(os, "replace", original)
  for name, text in before.items():
    if name != run_log.METRICS_FILE or target == run_log.METRICS_FILE:
      assert pathlib.Path(workdir, name).read_text() == text, name
  assert run_log.read_summary(workdir) is None

  resumed = train.train_and_evaluate(tiny_config(**RUN), workdir)
  _assert_same_state(resumed.state, finished[1].state)
  assert _without_time(workdir) == _without_time(finished[0])


def test_write_atomic_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
  path = tmp_path / "config.json"
  path.write_text('{"old": 1}')

  def disk_full(descriptor):
    raise OSError(28, "No space left on device")

  monkeypatch.setattr(os, "fsync", disk_full)
  with pytest.raises(OSError, match="No space"):
    files.write_atomic(str(path), '{"new": 2}')
  assert path.read_text() == '{"old": 1}'


def test_a_cut_off_last_metrics_line_is_dropped_with_a_warning(finished, tmp_path, caplog):
  workdir = _copy(finished, tmp_path / "run")
  path = os.path.join(workdir, run_log.METRICS_FILE)
  rows = run_log.read_metrics(workdir)
  with open(path, "a") as f:
    f.write('{"step": 44, "epoch": 4.0, "se')
  with caplog.at_level(logging.WARNING):
    assert run_log.read_metrics(workdir) == rows
  assert any("cut-off last line" in r.getMessage() for r in caplog.records)
  # Anywhere but at the end, a broken line is an error naming the file and line.
  with open(path, "a") as f:
    f.write("\n" + json.dumps(rows[0]) + "\n")
  with pytest.raises(run_log.CorruptLogError, match=rf"metrics.jsonl, line {len(rows) + 1}"):
    run_log.read_metrics(workdir)


@pytest.mark.parametrize("content", ["", '{"optim": {"learning_rate"'],
                         ids=["empty", "cut_off"])
def test_a_damaged_config_json_names_the_file_and_what_to_do(finished, tiny_config, tmp_path,
                                                             content):
  workdir = _copy(finished, tmp_path / "run")
  with open(os.path.join(workdir, CONFIG_FILE), "w") as f:
    f.write(content)
  with pytest.raises(ConfigError, match=r"config\.json (is empty|is not a saved config).*"
                                        r"delete this file"):
    train.train_and_evaluate(tiny_config(**RUN), workdir)
  with pytest.raises(ConfigError, match="config.json"):
    read_run_config(workdir)


def test_no_checkpoint_is_saved_from_a_non_finite_state(tiny_config, tmp_path):
  # Logging every second epoch: the epoch-1 checkpoint comes before any loss is checked.
  config = tiny_config(**{"optim.learning_rate": 1e30, "train.num_epochs": 3,
                          "train.log_every_steps": 2 * STEPS_PER_EPOCH})
  with pytest.raises(train.TrainingDivergedError, match=r"NaN or infinite by step 11"):
    train.train_and_evaluate(config, str(tmp_path))
  assert checkpoints.saved_steps(str(tmp_path)) == [0]
  assert "NaN or infinite" in run_log.read_summary(str(tmp_path))["diverged"]
  assert run_log.read_metrics(str(tmp_path)) == []


def test_launch_local_reports_a_diverged_run_as_failed(tmp_path, capsys):
  workdir = tmp_path / "runs" / "base"
  workdir.mkdir(parents=True)
  run_log.write_summary(str(workdir), {"final_step": 11, "diverged": "train loss became [nan]"})
  assert local.run_one(sweep.Run("base", {}), "unused.py", str(tmp_path / "runs")) == ("base", 1)
  assert "base: diverged, not finished (train loss became [nan])" in capsys.readouterr().out


def test_a_second_process_on_a_busy_workdir_fails_at_once_naming_its_pid(tiny_config,
                                                                          tmp_path):
  holder = subprocess.Popen(
      [sys.executable, "-c",
       "import sys, time\nfrom jaxgen.workdir_lock import WorkdirLock\n"
       f"WorkdirLock({str(tmp_path)!r}).acquire()\nprint('locked', flush=True)\ntime.sleep(60)"],
      cwd=REPO, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == "locked"
    start = time.monotonic()
    with pytest.raises(workdir_lock.WorkdirBusyError, match=rf"in use by process {holder.pid}"):
      train.train_and_evaluate(tiny_config(), str(tmp_path))
    assert time.monotonic() - start < 2.0  # Before loading data or compiling anything.
    assert sorted(os.listdir(tmp_path)) == [workdir_lock.LOCK_FILE]  # Nothing of ours.
  finally:
    holder.kill()
    holder.wait()
  # The kernel released the dead holder's lock: the workdir is usable again.
  lock = workdir_lock.WorkdirLock(str(tmp_path))
  lock.acquire()
  assert (tmp_path / workdir_lock.LOCK_FILE).read_text() == f"{os.getpid()}\n"
  lock.release()


def test_a_signal_during_a_save_waits_for_it_then_raises_keyboard_interrupt(
    finished, tiny_config, tmp_path, monkeypatch):
  original = checkpoints.save

  def signalled_save(manager, step, state):
    if step == 2 * STEPS_PER_EPOCH:
      os.kill(os.getpid(), signal.SIGTERM)  # Arrives as the save starts.
    original(manager, step, state)

  monkeypatch.setattr(checkpoints, "save", signalled_save)
  with pytest.raises(KeyboardInterrupt) as error:
    train.train_and_evaluate(tiny_config(**RUN), str(tmp_path))
  assert isinstance(error.value, interrupts.Interrupted)
  assert (error.value.signum, error.value.step, error.value.epoch) == (signal.SIGTERM, 22, 2)
  assert str(error.value) == "Interrupted at step 22 (epoch 2/3)"
  assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # The guard is gone.
  # The step-22 save finished, checksums and all, and the run resumes from it.
  assert checkpoints.saved_steps(str(tmp_path)) == [0, 11, 22]
  assert checkpoints.verify(checkpoints.checkpoint_dir(str(tmp_path)), 22)
  monkeypatch.setattr(checkpoints, "save", original)
  resumed = train.train_and_evaluate(tiny_config(**RUN), str(tmp_path))
  _assert_same_state(resumed.state, finished[1].state)


def test_the_guard_leaves_handlers_installed_by_others_alone():
  def requeue(signum, frame):  # As submitit routes SLURM's SIGTERM.
    del signum, frame

  previous = signal.signal(signal.SIGTERM, requeue)
  usr2 = signal.getsignal(signal.SIGUSR2)
  try:
    with interrupts.InterruptGuard():
      assert signal.getsignal(signal.SIGTERM) is requeue
      assert signal.getsignal(signal.SIGUSR2) is usr2
      assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
  finally:
    signal.signal(signal.SIGTERM, previous)


# SIGINT, then SIGTERM, then a run to the end: the chain must equal an uninterrupted run.
SIGNAL_EPOCHS = 20  # Long enough that the signal lands mid-run on a loaded machine.
SIGNAL_RUN = {"train.num_epochs": SIGNAL_EPOCHS}


@pytest.fixture(scope="module")
def signalled(tmp_path_factory):
  """A CLI run interrupted by SIGINT, resumed and interrupted by SIGTERM; returns (workdir,
  [(exit code, stderr) of each process])."""
  root = tmp_path_factory.mktemp("signals")
  config = root / "tiny.py"
  config.write_text("from tests.conftest import make_tiny_config\n"
                    "def get_config():\n"
                    f"  return make_tiny_config(**{SIGNAL_RUN!r})\n")
  workdir = str(root / "run")
  command = [sys.executable, "-m", "jaxgen.main", f"--config={config}", f"--workdir={workdir}"]
  env = {**os.environ, "PYTHONPATH": REPO, "JAX_PLATFORMS": "cpu"}
  metrics = os.path.join(workdir, run_log.METRICS_FILE)

  def rows() -> int:
    return len(run_log.read_metrics(workdir)) if os.path.exists(metrics) else 0

  outcomes = []
  for signum in (signal.SIGINT, signal.SIGTERM):
    logged = rows()
    process = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    # Mid-training: once this process has logged an epoch of its own.
    deadline = time.monotonic() + 120
    while rows() <= logged and process.poll() is None and time.monotonic() < deadline:
      time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=300)
    outcomes.append((process.returncode, stderr))
  return workdir, outcomes


@pytest.mark.parametrize("index, signum", [(0, signal.SIGINT), (1, signal.SIGTERM)],
                         ids=["sigint", "sigterm"])
def test_a_signal_ends_the_run_cleanly_with_the_resume_command(signalled, index, signum):
  workdir, outcomes = signalled
  code, stderr = outcomes[index]
  assert code == 128 + signum, stderr[-2000:]
  hint = [line for line in stderr.splitlines() if line.startswith("Interrupted at step ")]
  assert len(hint) == 1, stderr[-2000:]
  assert re.fullmatch(
      rf"Interrupted at step \d+ \(epoch [\d.]+/{SIGNAL_EPOCHS}\); re-run the same command to "
      rf"resume: \S*python\S* -m jaxgen\.main --config={os.path.dirname(workdir)}/tiny\.py "
      rf"--workdir={workdir}", hint[0]), hint[0]
  assert "Traceback" not in stderr


def test_runs_resumed_after_signals_equal_an_uninterrupted_run_bit_for_bit(signalled,
                                                                         tiny_config, tmp_path):
  workdir, _ = signalled
  assert 0 < len(run_log.read_metrics(workdir)) < 2 * SIGNAL_EPOCHS  # Stopped part way.
  resumed = train.train_and_evaluate(tiny_config(**SIGNAL_RUN), workdir)
  reference = train.train_and_evaluate(tiny_config(**SIGNAL_RUN), str(tmp_path))
  _assert_same_state(resumed.state, reference.state)
  assert _without_time(workdir) == _without_time(str(tmp_path))


def test_a_damaged_summary_names_the_file_and_what_to_do(tmp_path):
  (tmp_path / run_log.SUMMARY_FILE).write_text('{"final_step": 3')
  with pytest.raises(run_log.CorruptLogError, match=r"summary\.json is not valid JSON.*Delete it"):
    run_log.read_summary(str(tmp_path))
