"""Sweep expansion into named runs, and local execution that skips finished runs."""

import os
import sys

import pytest

from jaxgen import run_log
from jaxgen.config import read_run_config
from launch import local, sweep

SWEEP = "configs/backbone/mlp_lr_sweep.py"


def test_sweep_expands_to_named_runs_with_seeds_as_own_axis():
  runs = sweep.expand(SWEEP, seeds=(0, 1))
  assert len(runs) == 6
  assert runs[0].name == "optim.learning_rate=0.01,model.widths=128"
  assert runs[0].overrides == {"optim.learning_rate": 0.01, "model.widths": (128,),
                               "seeds": (0, 1)}
  separate = sweep.expand(SWEEP, seeds=(0, 1), separate_seeds=True)
  assert len(separate) == 12
  assert separate[1].name == "optim.learning_rate=0.01,model.widths=128,seeds=1"
  # Without seeds, --separate_seeds splits the config's own (the sweep's config has seed 0).
  own = sweep.expand(SWEEP, separate_seeds=True)
  assert [run.overrides["seeds"] for run in own[:2]] == [(0,), (0,)] and len(own) == 6


def test_command_round_trips_through_the_config_flags():
  run = sweep.expand(SWEEP, seeds=(3,))[0]
  command = run.command(sys.executable, SWEEP, "/tmp/root")
  assert command[-3:] == ["--config.optim.learning_rate=0.01", "--config.model.widths=(128, )",
                          "--config.seeds=(3, )"]
  assert command[4] == "--workdir=/tmp/root/optim.learning_rate=0.01,model.widths=128"


def test_sweep_may_not_tune_the_seed(tmp_path):
  path = tmp_path / "bad.py"
  path.write_text("def get_config():\n  pass\n\ndef get_sweep():\n  return [{'seeds': (1,)}]\n")
  with pytest.raises(ValueError, match="must not set seeds"):
    sweep.expand(str(path))


def test_local_runs_a_sweep_and_skips_finished_runs(tmp_path):
  config = tmp_path / "tiny_sweep.py"
  config.write_text(
      "from tests.conftest import make_tiny_config\n"
      "def get_config():\n  return make_tiny_config(**{'train.num_epochs': 1})\n"
      "def get_sweep():\n  return [{'optim.learning_rate': 0.05}, {'optim.learning_rate': 0.2}]\n")
  root = str(tmp_path / "runs")
  runs = sweep.expand(str(config), seeds=(0,))
  assert local.run_sweep(str(config), root, runs, parallel=2) == {
      "optim.learning_rate=0.05": 0, "optim.learning_rate=0.2": 0}
  for run in runs:
    workdir = os.path.join(root, run.name)
    assert os.path.exists(os.path.join(workdir, run_log.SUMMARY_FILE))
    assert read_run_config(workdir)["optim"]["learning_rate"] == run.overrides[
        "optim.learning_rate"]
  # A finished run is not started again: its log file is not appended to.
  log = os.path.join(root, runs[0].name, "log.txt")
  size = os.path.getsize(log)
  local.run_sweep(str(config), root, runs[:1], parallel=1)
  assert os.path.getsize(log) == size
  # A finished run whose config no longer matches the sweep's is not silently reused.
  changed = [sweep.Run(runs[0].name, {**runs[0].overrides, "optim.momentum": 0.5})]
  assert local.run_sweep(str(config), root, changed, parallel=1) == {runs[0].name: 2}


def test_variant_configs_and_fixed_overrides_reach_every_run():
  runs = sweep.expand("configs/layer_rotation/c10_cnn1.py:sgd", seeds=(0,),
                      fixed={"data.data_dir": "/data/tfds"})
  assert runs[0].overrides["data.data_dir"] == "/data/tfds"
  assert "data_dir" not in runs[0].name
  command = runs[0].command(sys.executable, "configs/layer_rotation/c10_cnn1.py:sgd", "/r")
  assert command[3] == "--config=configs/layer_rotation/c10_cnn1.py:sgd"
  assert "--config.data.data_dir=/data/tfds" in command


def test_set_values_parse_as_python_literals_or_strings():
  assert sweep.parse_fixed(["train.num_epochs=1", "data.data_dir=/data", "model.widths=(8, 4)",
                            "optim.name=sgd=x"]) == {
      "train.num_epochs": 1, "data.data_dir": "/data", "model.widths": (8, 4),
      "optim.name": "sgd=x"}
  with pytest.raises(ValueError, match="expected field=value"):
    sweep.parse_fixed(["train.num_epochs"])
