"""What a person sees on the command line: progress lines, the end-of-run summary, and
config errors as one line."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from jaxgen import console, run_log
from jaxgen.stopping import SeedStop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CONFIG = """from tests.conftest import make_tiny_config
def get_config():
  return make_tiny_config(**{"train.num_epochs": 2, "seeds": (0, 1), "logging.tensorboard": True})
"""


def _main(*args: str, **kwargs) -> subprocess.CompletedProcess:
  env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
  return subprocess.run([sys.executable, "-m", "jaxgen.main", *args], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
  """(stdout, workdir) of one two-seed, two-epoch run of the tiny config, as a user runs it."""
  root = tmp_path_factory.mktemp("console")
  (root / "tiny.py").write_text(TINY_CONFIG)
  workdir = str(root / "run")
  completed = _main(f"--config={root / 'tiny.py'}", f"--workdir={workdir}")
  assert completed.returncode == 0, completed.stderr
  return completed.stdout, workdir


def _mean_std(rows, key, scale):
  values = np.asarray([row[key] for row in rows]) * scale
  return values.mean(), values.std(ddof=1)


def test_each_logging_event_prints_one_line_with_seed_means_matching_metrics_jsonl(
    finished_run):
  stdout, workdir = finished_run
  rows = run_log.read_metrics(workdir)
  lines = [line for line in stdout.splitlines() if line.startswith("epoch ")]
  steps = sorted({row["step"] for row in rows})
  assert len(lines) == len(steps) == 2
  pattern = re.compile(r"(train|test) loss (\S+) ±(\S+) acc (\S+)% ±(\S+)")
  for epoch, (line, step) in enumerate(zip(lines, steps, strict=True), start=1):
    assert line.startswith(f"epoch {epoch}/2  step {step}  train loss ")
    assert line.endswith("(mean ±std over 2 seeds)")
    found = pattern.findall(line)
    assert [split for split, *_ in found] == ["train", "test"]
    for split, loss, loss_std, acc, acc_std in found:
      at = [row for row in rows if row["step"] == step and row["split"] == split]
      assert len(at) == 2
      # Printed to 3 decimals (loss) and 0.1 points (accuracy).
      assert np.allclose((float(loss), float(loss_std)), _mean_std(at, "loss", 1), atol=6e-4)
      assert np.allclose((float(acc), float(acc_std)), _mean_std(at, "accuracy", 100),
                         atol=0.06)


def test_summary_says_where_everything_is_and_gives_the_final_test_accuracy(finished_run):
  stdout, workdir = finished_run
  summary = stdout[stdout.index("Finished at epoch 2/2"):]
  final_test = [row for row in run_log.read_metrics(workdir)
                if row["split"] == "test" and row["step"] == 22]
  mean, std = _mean_std(final_test, "accuracy", 100)
  assert "final test: loss" in summary
  assert f"acc {mean:.1f}% ±{std:.1f} (mean ±std over 2 seeds)" in summary
  assert f"Written to {workdir}:" in summary
  assert "metrics.jsonl" in summary and "config.json" in summary
  steps = sorted(int(name) for name in os.listdir(os.path.join(workdir, "checkpoints"))
                 if name.isdigit())
  assert f"checkpoints/       steps {', '.join(map(str, steps))}" in summary
  assert f"tensorboard/       view with: tensorboard --logdir={workdir}/tensorboard" in summary
  # The first line says what trains and where, before the first event.
  assert stdout.splitlines()[0].startswith("Training mlp on digits (seeds 0, 1) for 2 epochs")


def test_progress_line_says_how_many_seeds_still_train():
  rows = [{"step": 30, "epoch": 2.5, "seed": seed, "split": split, "loss": loss,
           "accuracy": accuracy}
          for seed, loss, accuracy in [(0, 0.5, 0.8), (2, 0.7, 0.9)]
          for split in ("train", "test")]
  assert console.progress_line(rows, 4, num_seeds=3) == (
      "epoch 2.5/4  step 30  train loss 0.600 ±0.141 acc 85.0% ±7.1  "
      "test loss 0.600 ±0.141 acc 85.0% ±7.1  (2 of 3 seeds still training: mean ±std)")
  assert console.progress_line(rows[:2], 4, num_seeds=3).endswith(
      "test loss 0.500 acc 80.0%  (1 of 3 seeds still training)")


def test_summary_names_the_stopping_rule_that_ended_a_seed(tmp_path):
  rows = {(0, "test"): {"step": 30, "epoch": 1.5, "seed": 0, "split": "test", "loss": 0.25,
                        "accuracy": 0.875, "wall_time": 75.0}}
  stop = SeedStop("target: train accuracy reached target", 30, 1.5, 75.0, {})
  lines = console.summary_lines(str(tmp_path), rows, {0: stop}, num_epochs=4)
  assert lines[:3] == [
      "Finished at epoch 1.5/4, step 30, after 1m 15s of training.",
      "  final test: loss 0.250 acc 87.5%",
      "  seed 0 stopped at epoch 1.5 (step 30): target: train accuracy reached target"]


def test_a_config_error_is_one_line_with_exit_status_2(tmp_path):
  workdir = tmp_path / "never"
  failed = _main("--config=configs/default.py", f"--workdir={workdir}",
                 "--config.optim.learnin_rate=0.1")
  assert failed.returncode == 2
  assert failed.stderr.splitlines() == [
      "error: --config.optim.learnin_rate: the config has no field 'learnin_rate'. "
      'Did you mean "learning_rate" instead of "learnin_rate"?']
  assert not workdir.exists()
  invalid = _main("--config=configs/default.py", f"--workdir={workdir}",
                  "--config.optim.name=sgdd")
  assert invalid.returncode == 2 and len(invalid.stderr.splitlines()) == 1
  assert "config.optim.name='sgdd' is not a known optimizer; valid choices:" in invalid.stderr


def test_help_exits_0():
  shown = _main("--help")
  assert shown.returncode == 0
  assert "--workdir" in shown.stdout and "--verbose" in shown.stdout


def test_each_seed_is_its_own_tensorboard_run(finished_run):
  from tensorboard.backend.event_processing import event_multiplexer

  _, workdir = finished_run
  runs = event_multiplexer.EventMultiplexer()
  runs.AddRunsFromDirectory(os.path.join(workdir, "tensorboard"))
  runs.Reload()
  assert sorted(runs.Runs()) == ["seed_0", "seed_1"]
  for seed in (0, 1):
    logged = [(row["step"], row["accuracy"]) for row in run_log.read_metrics(workdir)
              if row["seed"] == seed and row["split"] == "test"]
    events = runs.Scalars(f"seed_{seed}", "test/accuracy")
    assert [e.step for e in events] == [step for step, _ in logged]
    np.testing.assert_allclose([e.value for e in events], [acc for _, acc in logged], rtol=1e-6)
