"""The hyperplane / layer-criticality study: its configs and a short CPU run."""

import numpy as np
import pytest

from configs.hyperplanes import base, cifar10, cifar100, mlp_supplement, mnist, mnist_cpu
from jaxgen import checkpoints, events, train
from jaxgen.analysis import hyperplanes as analysis
from jaxgen.analysis import runs
from jaxgen.config.validation import validate_config
from jaxgen.metrics.hyperplanes import NET


@pytest.mark.parametrize("module", [cifar10, cifar100, mnist], ids=lambda m: m.DATASET)
def test_every_architecture_gets_the_codes_training_defaults(module):
  for arch in base.ARCHITECTURES:
    config = module.get_config(arch)
    validate_config(config)
    assert (config.optim.name, config.optim.learning_rate, config.optim.momentum) == (
        "sgd", 1e-3, 0.9)
    assert (config.optim.weight_decay, config.optim.weight_decay_convention) == (
        1e-4, "pytorch")
    assert (config.train.batch_size, config.train.num_epochs) == (128, 20)
    assert config.data.validation_size == 0.0  # The code validates on the test set.
    assert config.data.normalization == "fixed"
    assert config.data.resize == (32 if module is mnist and arch != "lenet" else 0)
  assert cifar10.get_config().data.std == (0.2023, 0.1994, 0.2010)
  assert mnist.get_config().data.mean == (0.1307,)
  with pytest.raises(ValueError, match="lenet, vgg11"):
    cifar10.get_config("resnet18")


def test_snapshots_give_the_heatmap_rows_of_the_code():
  config = cifar10.get_config()
  assert events.snapshot_epochs(config.checkpoint, config.train.num_epochs) == [
      0, 1, 2, 3, 4, 5, 10, 15, 20]


def test_mlp_supplement_follows_its_readme_command():
  config = mlp_supplement.get_config()
  validate_config(config)
  assert config.model.name == "mlp_bn_gamba" and mlp_supplement.get_config("mlp").model.name == (
      "mlp_gamba")
  assert (config.optim.learning_rate, config.optim.weight_decay, config.optim.milestones) == (
      0.01, 5e-4, (100, 200))
  assert config.train.num_epochs == 300 and config.metrics.projection_with_linear
  assert config.augment.random_crop and config.augment.flip


def test_training_lenet_biases_its_filters_from_a_symmetric_start(tmp_path):
  """Five epochs of the CPU config (measured: net mass 0.49 at init, 0.74 after one epoch,
  0.72 after five, test accuracy 11% -> 84%)."""
  config = mnist_cpu.get_config()
  validate_config(config)
  config.train.num_epochs = 5
  config.logging.figures = config.logging.progress_bar = False
  result = train.train_and_evaluate(config, str(tmp_path))
  assert result.final[(0, "test")]["accuracy"] > 0.8
  mass = analysis.projections_over_training(runs.load_run(str(tmp_path)))
  assert sorted(mass) == [0, 31, 62, 93, 124, 155]
  assert abs(mass[0][NET]["mass"] - 0.5) < 0.05
  assert all(mass[step][NET]["mass"] > 0.65 for step in (31, 62, 93, 124, 155))
  # The per-epoch logged mass is the one the checkpoints give.
  row = result.final[(0, "train")]
  assert row["projection_mass/layer005_conv/kernel"] == pytest.approx(
      mass[155]["layer005_conv/kernel"]["mass"])
  params = checkpoints.load(str(tmp_path), 155, 0)["params"]
  assert np.asarray(params["layer000_conv"]["kernel"]).shape == (3, 3, 1, 6)
