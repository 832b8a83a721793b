"""The analysis kit: the run record, finding runs, the shared command line, evaluating plain
variables, and the per-layer curves."""

import os
import subprocess
import sys

import numpy as np
import pytest
from absl import app

from jaxgen import evaluation, plots, train
from jaxgen.analysis import cli, runs
from jaxgen.config import write_run_config
from tests.conftest import make_tiny_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """Two seeds of the tiny MLP, 2 epochs of 11 steps, in <tmp>/sweep/run."""
  workdir = str(tmp_path_factory.mktemp("sweep") / "run")
  train.train_and_evaluate(make_tiny_config(seeds=(0, 1)), workdir)
  return workdir


def _fake_run(workdir, **overrides) -> str:
  os.makedirs(workdir)
  write_run_config(str(workdir), make_tiny_config(**overrides))
  return str(workdir)


def test_run_record_reads_config_rows_summary_and_checkpoints(tiny_run):
  run = runs.load_run(tiny_run)
  assert run.name == "run" and run.seeds == [0, 1] and run.config.data.name == "digits"
  test_rows = run.rows_for("test", seed=1)
  assert [r["epoch"] for r in test_rows] == [1.0, 2.0]
  assert all(r["split"] == "test" and r["seed"] == 1 for r in test_rows)
  assert len(run.train_rows()) == 4 and len(run.train_rows(0)) == 2
  assert run.last_rows(1)["test"] == test_rows[-1]
  assert run.final_rows()[1]["test"]["accuracy"] == test_rows[-1]["accuracy"]
  assert run.steps_per_epoch() == 11 and run.stop_epochs == {}
  assert run.checkpoint_steps() == [0, 22]
  initial = run.load_params(step=0, seed_index=1)
  assert initial["step"] == 0 and initial["params"]["Dense_0"]["kernel"].shape == (64, 32)


def test_evaluate_gives_the_test_accuracy_the_trainer_logged(tiny_run):
  run = runs.load_run(tiny_run)
  model, dataset = evaluation.load_model_and_data(run.config)
  for seed_index, seed in enumerate(run.seeds):
    variables = run.load_params(seed_index=seed_index)
    result = evaluation.evaluate(model, variables["params"], variables["batch_stats"],
                                 dataset.test.images, dataset.test.labels, run.config)
    logged = run.last_rows(seed)["test"]
    assert result["accuracy"] == pytest.approx(logged["accuracy"], abs=1e-7)
    assert result["loss"] == pytest.approx(logged["loss"], rel=1e-5)


def test_find_runs_takes_a_run_a_sweep_directory_or_several(tmp_path):
  second = _fake_run(tmp_path / "sweep" / "b")
  first = _fake_run(tmp_path / "sweep" / "a", **{"optim.learning_rate": 0.3})
  os.makedirs(tmp_path / "sweep" / "figures")  # Not a run: no config.json.
  sweep = str(tmp_path / "sweep")
  assert runs.find_runs(sweep) == [first, second]
  assert runs.find_runs([second]) == [second]
  assert runs.find_runs([second, sweep]) == [second, first, second]
  loaded = runs.load_runs(sweep)
  assert [r.name for r in loaded] == ["a", "b"] and loaded[0].summary is None
  assert loaded[0].config.optim.learning_rate == 0.3 and loaded[1].rows == []
  with pytest.raises(ValueError, match="no run"):
    runs.find_runs(str(tmp_path / "sweep" / "figures"))


def test_pool_seeds_merges_runs_that_differ_only_in_their_seeds(tmp_path):
  for name, seeds in (("s0", (0,)), ("s1", (1,))):
    _fake_run(tmp_path / name, seeds=seeds)
  _fake_run(tmp_path / "other", seeds=(0,), **{"optim.learning_rate": 0.3})
  other, pooled = runs.pool_seeds(runs.load_runs(str(tmp_path)))  # In name order.
  assert pooled.seeds == [0, 1] and pooled.workdirs == (str(tmp_path / "s0"),
                                                        str(tmp_path / "s1"))
  assert other.seeds == [0] and other.workdirs == (str(tmp_path / "other"),)
  with pytest.raises(ValueError, match="pooled runs"):
    pooled.checkpoint_steps()


def test_command_line_convention():
  commands = ("features", "curves")
  parsed = cli.parse(["prog", "curves", "a", "b"], commands)
  assert parsed == cli.Invocation("curves", ["a", "b"], None)
  assert parsed.output("x.png") == os.path.join("a", "figures", "x.png")
  assert parsed.output("x.png", "b") == os.path.join("b", "figures", "x.png")
  assert cli.parse(["prog", "a"], out="/o").output("x.png") == "/o/x.png"
  assert cli.parse(["prog"], extra_paths=["s", None]).paths == ["s"]
  for argv in (["prog", "a"], ["prog", "curves"], ["prog", "bogus", "a"]):
    with pytest.raises(app.UsageError, match=r"\{features\|curves\} PATH \[PATH \.\.\.\]"):
      cli.parse(argv, commands)
  assert cli.text_table(("a", "bb"), [("ccc", "d")]) == "a    bb\nccc  d"


def test_sweep_dir_flag_is_a_path_of_the_randomization_command_line(tiny_run, tmp_path):
  completed = subprocess.run(
      [sys.executable, "-m", "jaxgen.analysis.randomization",
       f"--sweep_dir={os.path.dirname(tiny_run)}", f"--out={tmp_path}"],
      capture_output=True, text=True, check=True)
  assert "finished" in completed.stdout and (tmp_path / "table.txt").exists()


def test_layer_curves_average_over_seeds_with_their_spread(tmp_path):
  rows = [{"split": "train", "seed": seed, "epoch": float(epoch),
           **{f"m/layer{i}/kernel": seed + epoch + i for i in range(13)}}
          for seed in (0, 1) for epoch in (1, 2)]
  epochs, means, spreads = plots.layer_curves(rows, "m")
  np.testing.assert_array_equal(epochs, [1.0, 2.0])
  assert list(means)[:2] == ["layer0/kernel", "layer1/kernel"] and len(means) == 13
  np.testing.assert_allclose(means["layer1/kernel"], [2.5, 3.5])
  # The sample standard deviation of two seeds 1 apart, as the console prints it.
  np.testing.assert_allclose(spreads["layer1/kernel"], [np.sqrt(0.5), np.sqrt(0.5)])
  _, one_seed, spread = plots.layer_curves(rows, "m", seed=1)
  np.testing.assert_allclose(one_seed["layer0/kernel"], [2.0, 3.0])
  assert not spread["layer0/kernel"].any()
  plots.plot_per_layer(rows, "m", str(tmp_path / "m.png"), "m")  # 13 layers: a colourbar.
  assert (tmp_path / "m.png").stat().st_size > 0
