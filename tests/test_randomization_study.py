"""The randomization study (Zhang et al. 2017): configs, sweeps, analysis, CPU-sized Figure 1."""

import glob
import os
import time

import numpy as np
import pytest
from absl import flags
from ml_collections import config_flags

from configs.randomization import base
from jaxgen import run_log, train
from jaxgen.analysis import randomization, runs
from jaxgen.config import load_module, write_run_config
from jaxgen.config import to_dict as config_to_dict
from jaxgen.config.validation import validate_config
from jaxgen.data.pipeline import load_dataset
from launch import sweep

CONFIG_DIR = "configs/randomization"
CONFIG_FILES = sorted(path for path in glob.glob(os.path.join(CONFIG_DIR, "*.py"))
                      if not path.endswith("__init__.py"))


_module = load_module  # Imports a config file the way launch/sweep.py does.


def _config_with(path: str, overrides: dict):
  """The config of `path` with sweep overrides applied to the locked config, as the
  --config.x=y flags of `launch.local` would (a misspelt field raises)."""
  config = _module(path).get_config()
  config.lock()
  config.update_from_flattened_dict(overrides)
  return config


def test_every_config_file_is_tested():
  assert [os.path.basename(p) for p in CONFIG_FILES] == [
      "base.py", "fig1a.py", "fig1bc.py", "mnist_cpu.py", "table1.py"]


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_config_builds_and_validates(path):
  validate_config(_module(path).get_config())


# ml_collections' config_flags loads config files with the deprecated importlib load_module.
@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")
@pytest.mark.parametrize("model", sorted(base.LEARNING_RATES))
def test_base_config_argument_picks_model_and_learning_rate(model):
  values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", flag_values=values, lock_config=True)
  values(["prog", f"--config={CONFIG_DIR}/base.py:{model}"])
  config = values.config
  validate_config(config)
  assert config.model.name == model
  assert config.optim.learning_rate == (0.1 if model.startswith("inception") else 0.01)
  assert (config.data.name, config.data.crop_size, config.data.normalization) == (
      "cifar10", 28, "per_image")
  assert (config.optim.momentum, config.optim.decay_factor, config.train.batch_size) == (
      0.9, 0.95, 128)
  assert config.optim.weight_decay == 0.0 and config.train.stop.target_train_accuracy == 1.0


@pytest.mark.parametrize("name, count", [
    ("fig1a.py", 5), ("fig1bc.py", 33), ("table1.py", 19), ("mnist_cpu.py", 14)])
def test_sweep_expands_and_every_run_validates(name, count):
  path = os.path.join(CONFIG_DIR, name)
  runs = sweep.expand(path, seeds=(0,))
  assert len(runs) == count
  for run in runs:
    validate_config(_config_with(path, run.overrides))


def test_fig1bc_crosses_eleven_levels_with_three_models_at_their_learning_rates():
  configs = [_config_with(f"{CONFIG_DIR}/fig1bc.py", run.overrides)
             for run in sweep.expand(f"{CONFIG_DIR}/fig1bc.py")]
  cells = {(c.model.name, c.data.corruption.level) for c in configs}
  assert cells == {(m, round(0.1 * i, 1)) for m in ("inception_small", "alexnet_small",
                                                    "mlp_1x512") for i in range(11)}
  assert {c.data.corruption.kind for c in configs} == {"partial_labels"}
  assert {(c.model.name, c.optim.learning_rate) for c in configs} == {
      ("inception_small", 0.1), ("alexnet_small", 0.01), ("mlp_1x512", 0.01)}


def test_table1_rows_match_the_paper():
  configs = [_config_with(f"{CONFIG_DIR}/table1.py", run.overrides)
             for run in sweep.expand(f"{CONFIG_DIR}/table1.py")]
  rows = sorted((c.model.name, c.data.corruption.kind, c.augment.random_crop,
                 c.optim.weight_decay > 0) for c in configs)
  expected = []
  for model, crops in [("inception_small", (True, False)), ("inception_small_nobn", (False,)),
                       ("alexnet_small", (True, False)), ("mlp_3x512", (False,)),
                       ("mlp_1x512", (False,))]:
    expected += [(model, "none", crop, decay) for crop in crops for decay in (True, False)]
    expected.append((model, "random_labels", False, False))
  assert rows == sorted(expected)
  assert all(c.train.stop.target_train_accuracy == 0.0 for c in configs)


# --- Analysis on synthetic workdirs --------------------------------------------------------


def _write_run(root, name: str, kind: str, seeds: tuple[int, ...], losses: dict,
               stopped: dict | None, level: float = 0.0) -> None:
  """A run workdir with config.json, metrics.jsonl (train loss 1/step, test accuracy 0.5 per
  logged step; `losses[seed]` = {step: loss}) and, unless stopped is None, summary.json."""
  workdir = os.path.join(root, name)
  os.makedirs(workdir)
  config = base.get_config("mlp_1x512")
  config.seeds = seeds
  config.data.corruption.kind = kind
  config.data.corruption.level = level
  write_run_config(workdir, config)
  log = run_log.RunLog(workdir, 0, tensorboard=False)
  for seed, curve in losses.items():
    for step, loss in curve.items():
      log.write([{"step": step, "epoch": step / 10, "seed": seed, "wall_time": step / 100,
                  "split": "train", "loss": loss, "accuracy": 1.0 - loss / 10},
                 {"step": step, "epoch": step / 10, "seed": seed, "wall_time": step / 100,
                  "split": "test", "loss": 2.0, "accuracy": 0.5}])
  if stopped is not None:
    run_log.write_summary(workdir, {"final_step": 0, "final": {}, "stopped": stopped})


def _stop(step: int, test_accuracy: float, reason: str = "fitted: train accuracy reached target"):
  return {"reason": reason, "step": step, "epoch": step / 10, "wall_time": step / 100,
          "metrics": {"train_loss": 0.01, "train_accuracy": 1.0, "test_loss": 2.0,
                      "test_accuracy": test_accuracy}}


@pytest.fixture
def synthetic_sweep(tmp_path):
  _write_run(tmp_path, "clean", "none", (0, 1), {0: {10: 2.0, 20: 1.0}, 1: {10: 2.0, 20: 1.5}},
             {"0": _stop(20, 0.875), "1": _stop(20, 0.75)})
  # Seed 1 never fitted (a fitting target was set); seed 0 did at step 30.
  _write_run(tmp_path, "noisy", "partial_labels", (0, 1),
             {0: {10: 2.0, 30: 1.0}, 1: {10: 2.0, 40: 1.2}}, {"0": _stop(30, 0.25)}, level=0.5)
  _write_run(tmp_path, "random", "random_labels", (0,), {0: {10: 2.5}}, {"0": _stop(
      10, 0.5, reason="plateau: train loss unchanged")})
  _write_run(tmp_path, "gauss", "gaussian", (0,), {0: {10: 2.0}}, None)  # Still running.
  os.makedirs(tmp_path / "figures")  # Not a run: no config.json.
  return tmp_path


def test_seed_results_keep_runs_that_did_not_fit(synthetic_sweep):
  results = randomization.seed_results(runs.load_runs(str(synthetic_sweep)))
  assert [(r.run, r.seed, r.p, r.status, r.step, r.test_accuracy) for r in results] == [
      ("clean", 0, 0.0, "fitted", 20, 0.875),
      ("clean", 1, 0.0, "fitted", 20, 0.75),
      ("noisy", 0, 0.5, "fitted", 30, 0.25),
      ("noisy", 1, 0.5, "not fitted", 40, 0.5),
      ("random", 0, 1.0, "stopped: plateau", 10, 0.5),
      ("gauss", 0, None, "unfinished", 10, 0.5),
  ]
  assert [r.fitted for r in results] == [True, True, True, False, False, False]


def test_table_lists_every_seed_with_exact_values(synthetic_sweep):
  results = randomization.seed_results(runs.load_runs(str(synthetic_sweep)))
  lines = randomization.format_table(results).splitlines()
  assert lines[0].split() == ["model", "corruption", "p", "seed", "status", "step", "epoch",
                              "train%", "test%", "wall_s", "run"]
  assert [line.split() for line in lines[1:]] == [
      ["mlp_1x512", "none", "0", "0", "fitted", "20", "2", "100.00", "87.50", "0.2", "clean"],
      ["mlp_1x512", "none", "0", "1", "fitted", "20", "2", "100.00", "75.00", "0.2", "clean"],
      ["mlp_1x512", "partial_labels", "0.5", "0", "fitted", "30", "3", "100.00", "25.00", "0.3",
       "noisy"],
      ["mlp_1x512", "partial_labels", "0.5", "1", "not", "fitted", "40", "4", "88.00", "50.00",
       "0.4", "noisy"],
      ["mlp_1x512", "random_labels", "1", "0", "stopped:", "plateau", "10", "1", "100.00",
       "50.00", "0.1", "random"],
      ["mlp_1x512", "gaussian", "-", "0", "unfinished", "10", "1", "80.00", "50.00", "0.1",
       "gauss"],
  ]


def test_mean_loss_curve_carries_a_stopped_seed_forward():
  rows = [{"step": s, "seed": seed, "split": "train", "loss": loss}
          for seed, curve in {0: {10: 2.0, 20: 1.0}, 1: {10: 4.0}}.items()
          for s, loss in curve.items()]
  steps, loss = randomization._mean_loss_curve(rows, (0, 1))
  np.testing.assert_array_equal(steps, [10, 20])
  np.testing.assert_allclose(loss, [3.0, 2.5])


def test_analyse_draws_three_figures_and_writes_the_table(synthetic_sweep, tmp_path):
  out = tmp_path / "out"
  results, paths = randomization.analyse(str(synthetic_sweep), str(out))
  assert [os.path.basename(p) for p in paths] == list(randomization.FIGURES)
  for path in paths:
    assert os.path.getsize(path) > 10_000  # A drawn PNG, not an empty canvas.
  assert (out / "table.txt").read_text().strip() == randomization.format_table(results)


def test_model_label_shows_builder_arguments():
  config = config_to_dict(_module(f"{CONFIG_DIR}/mnist_cpu.py").get_config())
  assert randomization.model_label(config) == "mlp_1x512(width=64)"


# --- CPU-sized Figure 1, end to end ----------------------------------------------------------


def test_cpu_figure1_fits_random_labels_and_slows_down_with_corruption(tmp_path):
  """True labels, shuffled pixels, p=0.5 and random labels (two label draws) on 1,000 MNIST
  digits: every seed fits, random labels test at chance, time to fit grows with p."""
  path = f"{CONFIG_DIR}/mnist_cpu.py"
  settings = [{"data.corruption.kind": "none"}, {"data.corruption.kind": "shuffled_pixels"},
              base.label_noise_overrides(0.5), {"data.corruption.kind": "random_labels"},
              # A second draw of the random labels: on 1,000 digits one draw agrees with the
              # true labels on 9-11% of them, which moves the test accuracy by a few points.
              {"data.corruption.kind": "random_labels", "data.corruption.seed": 1}]
  start = time.time()
  for overrides in settings:
    config = _config_with(path, {**overrides, "logging.tensorboard": False,
                                 "logging.figures": False, "logging.progress_bar": False})
    train.train_and_evaluate(config, str(tmp_path / sweep.run_name(overrides)))
  results, paths = randomization.analyse(str(tmp_path))
  elapsed = time.time() - start

  assert len(results) == 5 * 3 and all(r.fitted and r.train_accuracy == 1.0 for r in results)
  by_p = {p: [r for r in results if r.p == p] for p in (0.0, 0.5, 1.0)}
  random_test = np.mean([r.test_accuracy for r in by_p[1.0]])
  assert 0.07 <= random_test <= 0.13, random_test
  assert np.mean([r.test_accuracy for r in by_p[0.0]]) > 0.85
  mean_steps = [np.mean([r.step for r in by_p[p]]) for p in (0.0, 0.5, 1.0)]
  assert mean_steps[0] < mean_steps[1] < mean_steps[2], mean_steps
  assert all(os.path.getsize(p) > 10_000 for p in paths)
  print(f"CPU Figure 1: {elapsed:.0f} s; mean steps to fit at p=0, 0.5, 1: {mean_steps}; "
        f"random-label test accuracy {random_test:.3f}")


# --- Corruption, kill and resume ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["random_pixels", "gaussian"])
def test_corrupted_dataset_is_drawn_again_identically(tiny_config, kind):
  data = tiny_config(**{"data.corruption.kind": kind, "data.corruption.seed": 5}).data
  first, second = load_dataset(data), load_dataset(data)
  np.testing.assert_array_equal(first.train.images, second.train.images)
  np.testing.assert_array_equal(first.test.images, second.test.images)
  other = tiny_config(**{"data.corruption.kind": kind, "data.corruption.seed": 6}).data
  assert not np.array_equal(first.train.images, load_dataset(other).train.images)
