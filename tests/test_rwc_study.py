"""The relative-weight-change study: its configs, and the seed-averaged analysis."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs.rwc import base, cifar10, cifar100, fashion_mnist, mnist
from jaxgen import checkpoints, path_rules, plots, run_log, train
from jaxgen.analysis import runs, rwc
from jaxgen.config.saved import CONFIG_FILE
from jaxgen.config.validation import validate_config
from jaxgen.models import build_model
from launch import sweep

DATASET_MODULES = (cifar10, cifar100, mnist, fashion_mnist)


@pytest.mark.parametrize("module", DATASET_MODULES, ids=lambda m: m.DATASET)
def test_every_architecture_gets_the_table_1_optimizer_and_the_code_pipeline(module):
  for arch in base.ARCHITECTURES:
    config = module.get_config(arch)
    validate_config(config)
    assert config.seeds == (0, 42, 123, 1000, 1234)
    assert (config.optim.name, config.optim.momentum, config.optim.schedule) == (
        "sgd", 0.9, "constant")
    assert config.optim.weight_decay_convention == "pytorch"
    assert (config.train.batch_size, config.train.num_epochs, config.train.shuffle) == (
        128, 150, False)
    assert config.train.stop.target_test_accuracy == 0.0  # No early stopping by default.
    assert config.augment.flip
    if module.DATASET.startswith("cifar"):
      assert config.data.normalization == "fixed" and config.augment.crop_padding == 4
      assert config.data.mean == (0.485, 0.456, 0.406)
    else:
      assert config.data.normalization == "none" and config.data.resize == 32
  assert cifar10.get_config("alexnet_cifar").optim.learning_rate == 0.001
  assert cifar100.get_config("alexnet_cifar").optim.learning_rate == 0.01
  assert mnist.get_config("vgg19_bn").optim.weight_decay == 5e-4
  with pytest.raises(ValueError, match="resnet18, vgg19_bn, alexnet_cifar"):
    cifar10.get_config("resnet50")


def test_the_sweep_runs_the_three_architectures_with_their_learning_rates():
  runs = sweep.expand("configs/rwc/cifar10.py")
  assert [r.overrides["model.name"] for r in runs] == list(base.ARCHITECTURES)
  assert [r.overrides["optim.learning_rate"] for r in runs] == [0.1, 0.05, 0.001]
  assert runs[0].name == "model.name=resnet18,optim.learning_rate=0.1,optim.weight_decay=0.0001"


@pytest.mark.parametrize("model, sizes", [
    ("resnet18", {"stem": 1, "block1": 4, "block2": 4, "block3": 4, "block4": 4,
                  "shortcuts": 3, "classifier": 1}),
    ("vgg19_bn", {"early": 4, "middle": 7, "later": 5, "classifier": 1}),
    ("alexnet_cifar", {"early": 1, "middle": 2, "later": 2, "dense": 3}),
])
def test_layer_groups_of_the_paper_partition_every_kernel(model, sizes):
  shapes = jax.eval_shape(lambda: build_model(model, 10).init(
      {"params": jax.random.key(0), "dropout": jax.random.key(1)}, jnp.zeros((1, 32, 32, 3)),
      train=False))
  layers = path_rules.layer_paths(shapes["params"], path_rules.KERNEL_RULE)
  groups = rwc.layer_groups(model, layers)
  assert {name: len(members) for name, members in groups.items()} == sizes
  assert sorted(m for members in groups.values() for m in members) == sorted(layers)
  if model == "resnet18":
    # Block 2 = the four 3x3 convs of stage 2, not its shortcut.
    assert groups["block2"] == [f"layer{i:03d}_conv/kernel" for i in (5, 6, 8, 9)]


def _write_run(workdir, seeds, curves, stopped=None):
  """A fake finished run: curves[seed][layer] = RWC per epoch; test accuracy 0.5 + seed/100."""
  os.makedirs(workdir)
  config = {"model": {"name": "alexnet_cifar"}, "data": {"name": "mnist"}, "seeds": seeds,
            "metrics": {"rwc_variant": "l1_ratio"}}
  with open(os.path.join(workdir, CONFIG_FILE), "w") as f:
    json.dump(config, f)
  rows = []
  for seed in seeds:
    for epoch, values in enumerate(zip(*curves[seed].values(), strict=True), start=1):
      rows.append({"seed": seed, "split": "train", "step": epoch, "epoch": float(epoch),
                   "accuracy": 0.9, **{f"relative_weight_change/{layer}": v
                                       for layer, v in zip(curves[seed], values, strict=True)}})
      rows.append({"seed": seed, "split": "test", "step": epoch, "epoch": float(epoch),
                   "accuracy": 0.5 + seed / 100})
  with open(os.path.join(workdir, run_log.METRICS_FILE), "w") as f:
    f.writelines(json.dumps(row) + "\n" for row in rows)
  run_log.write_summary(workdir, {"stopped": stopped or {}})


def test_curves_are_averaged_over_the_seeds_still_training_at_each_epoch(tmp_path):
  layers = ("layer000_conv/kernel", "layer001_dense/kernel")
  curves = {0: dict(zip(layers, ([0.4, 0.2, 0.1], [1.0, 0.5, 0.3]), strict=True)),
            # Seed 1 stopped after epoch 2: its frozen epoch-3 value (0) must not count.
            1: dict(zip(layers, ([0.2, 0.1, 0.0], [0.6, 0.3, 0.0]), strict=True))}
  _write_run(tmp_path / "run", [0, 1], curves, stopped={"1": {"epoch": 2.0}})
  epochs, mean, _ = plots.layer_curves(run_log.read_metrics(str(tmp_path / "run")),
                                       rwc.METRIC, stop_epochs={1: 2.0})
  np.testing.assert_array_equal(epochs, [1, 2, 3])
  np.testing.assert_allclose(mean["layer000_conv/kernel"], [0.3, 0.15, 0.1])
  np.testing.assert_allclose(mean["layer001_dense/kernel"], [0.8, 0.4, 0.3])
  np.testing.assert_allclose(rwc.final_accuracies(runs.load_run(str(tmp_path / "run")),
                                                  "test"), [0.5, 0.51])


def test_runs_of_single_seeds_are_pooled_into_one_setting(tmp_path):
  layers = ("layer000_conv/kernel", "layer001_dense/kernel")
  curves = {0: dict(zip(layers, ([0.4, 0.2, 0.1], [1.0, 0.5, 0.3]), strict=True)),
            1: dict(zip(layers, ([0.2, 0.1, 0.0], [0.6, 0.3, 0.0]), strict=True))}
  _write_run(tmp_path / "seeds=0", [0], {0: curves[0]})
  _write_run(tmp_path / "seeds=1", [1], {1: curves[1]}, stopped={"1": {"epoch": 2.0}})
  (setting,) = runs.pool_seeds(runs.load_runs([str(tmp_path)]))
  assert setting.config["seeds"] == [0, 1] and setting.stop_epochs == {1: 2.0}
  report = rwc.summarise(setting)
  # First layer, seed means per epoch 0.3, 0.15, 0.1: epochs 2+ average 0.125.
  assert "layer000_conv/kernel       3.000e-01  1.250e-01  1.000e-01" in report
  assert "final test accuracy 50.50%" in report
  assert "early        1.250e-01" in report and "dense        3.500e-01" in report
  out = tmp_path / "rwc.png"
  rwc.plot_curves([setting], str(out))
  assert out.stat().st_size > 0
  with pytest.raises(ValueError, match="repeats seed"):
    runs.pool_seeds(runs.load_runs([str(tmp_path)]) * 2)


def test_a_short_run_logs_each_kernels_rwc_against_the_previous_epochs_weights(tmp_path):
  """AlexNet on 160 embedded digits resized to 32x32, two epochs of five steps."""
  config = base.get_config("alexnet_cifar", "mnist")
  config.data.name = "mnist_embedded"
  config.data.train_per_class = 16
  config.seeds = (0,)
  config.train.batch_size = 32
  config.train.num_epochs = 2
  config.train.shuffle = True  # The embedded digits are sorted by class.
  config.checkpoint.snapshot_every_epochs = 1
  config.logging.tensorboard = config.logging.figures = config.logging.progress_bar = False
  train.train_and_evaluate(config, str(tmp_path))

  rows = [r for r in run_log.read_metrics(str(tmp_path)) if r["split"] == "train"]
  weights = {step: checkpoints.load(str(tmp_path), step, 0)["params"] for step in (0, 5, 10)}
  assert weights[0]["layer000_conv"]["kernel"].shape == (3, 3, 1, 64)  # 1-channel digits.
  for row, (before, after) in zip(rows, ((0, 5), (5, 10)), strict=True):
    layers = [k.removeprefix("relative_weight_change/") for k in row
              if k.startswith("relative_weight_change/")]
    assert len(layers) == 8  # 5 convs + 3 dense; no biases.
    for layer in layers:
      module = layer.removesuffix("/kernel")
      old, new = weights[before][module]["kernel"], weights[after][module]["kernel"]
      expected = np.abs(new - old).sum() / np.abs(old).sum()  # Eq. (1).
      assert row[f"relative_weight_change/{layer}"] == pytest.approx(expected, rel=1e-4)
