"""Layer criticality (re-initialisation / re-randomisation) and projections over training,
from the checkpoints of a real tiny CNN run."""

import json
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import checkpoints, evaluation, path_rules, train
from jaxgen.analysis import hyperplanes as analysis
from jaxgen.analysis import runs
from jaxgen.data.pipeline import load_dataset
from jaxgen.metrics import filter_projections, projection_statistics
from jaxgen.metrics.hyperplanes import NET
from jaxgen.models import build_model
from tests.conftest import make_tiny_config


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
  """A small CNN trained 3 epochs (11 steps each) on the 8x8 digits, every epoch kept."""
  config = make_tiny_config(**{
      "model": {"name": "small_cnn", "widths": (8, 16), "hidden": 32, "batch_norm": True},
      "train.num_epochs": 3, "checkpoint.snapshot_every_epochs": 1,
      "optim.learning_rate": 0.05})
  workdir = str(tmp_path_factory.mktemp("cnn"))
  train.train_and_evaluate(config, workdir)
  return workdir


def test_swap_layer_replaces_one_modules_kernel_and_bias_only():
  params = {"Conv_0": {"kernel": jnp.ones(2), "bias": jnp.ones(1)},
            "Conv_1": {"kernel": jnp.ones(2), "bias": jnp.ones(1)}}
  donor = jax.tree.map(jnp.zeros_like, params)
  swapped = analysis.swap_layer(params, donor, "Conv_1/kernel")
  assert float(swapped["Conv_0"]["kernel"].sum() + swapped["Conv_0"]["bias"].sum()) == 3.0
  assert float(swapped["Conv_1"]["kernel"].sum() + swapped["Conv_1"]["bias"].sum()) == 0.0
  assert analysis.relative_drops(0.8, [0.8, 0.4, 0.0]) == [0.0, 0.5, 1.0]


def test_criticality_resets_each_conv_to_each_donor_and_evaluates_it(cnn_run):
  run = runs.load_run(cnn_run)
  result = analysis.criticality(run)
  assert result["layers"] == ["Conv_0/kernel", "Conv_1/kernel"]  # Dense layers: off.
  assert list(result["rows"]) == ["epoch 0", "epoch 1", "epoch 2", "rand"]
  final = checkpoints.load(cnn_run, None, 0)
  assert final["step"] == 33 and result["trained_accuracy"] > 0.7

  # Layer 1 back at its initial value, evaluated independently of the analysis code.
  init = checkpoints.load(cnn_run, 0, 0)["params"]
  params = jax.tree.map(lambda x: x, final["params"])
  params["Conv_0"] = init["Conv_0"]
  model = build_model("small_cnn", 10, widths=(8, 16), hidden=32, batch_norm=True)
  test = load_dataset(run.config.data).test
  logits = model.apply({"params": params, "batch_stats": final["batch_stats"]},
                       jnp.asarray(test.images), train=False)
  expected = float(np.mean(np.argmax(logits, -1) == test.labels))
  row = result["rows"]["epoch 0"]
  assert row["accuracies"][0] == pytest.approx(expected, abs=1e-6)
  assert row["relative_drops"][0] == pytest.approx(
      (result["trained_accuracy"] - expected) / result["trained_accuracy"])
  # The re-randomisation donor is a fresh draw, not the run's own initialisation.
  model, dataset = evaluation.load_model_and_data(run.config)
  fresh = evaluation.init_params(model, run.config, dataset.train.images[:1],
                                 jax.random.key(2**31 - 1))
  assert not np.allclose(fresh["Conv_0"]["kernel"], init["Conv_0"]["kernel"])


def test_spearman_uses_average_ranks_for_ties():
  # x = [1, 2, 2, 3] ranks [1, 2.5, 2.5, 4]; y = [4, 3, 1, 2] ranks [4, 3, 1, 2]. Centred
  # (mean 2.5): [-1.5, 0, 0, 1.5] and [1.5, 0.5, -1.5, -0.5]; sum of products -3, sums of
  # squares 4.5 and 5, so rho = -3 / sqrt(22.5).
  np.testing.assert_allclose(analysis.average_ranks([1, 2, 2, 3]), [1, 2.5, 2.5, 4])
  np.testing.assert_allclose(analysis.average_ranks([0.3, 0.1, 0.3, 0.3]), [3, 1, 3, 3])
  assert analysis.spearman([1, 2, 2, 3], [4, 3, 1, 2]) == pytest.approx(-3 / np.sqrt(22.5))
  assert analysis.spearman([1, 5, 9], [0.1, 0.2, 7.0]) == pytest.approx(1.0)  # Monotone.
  assert np.isnan(analysis.spearman([1, 1, 1], [1, 2, 3]))  # Constant: undefined.
  assert np.isnan(analysis.spearman([1, 2], [1, float("nan")]))


def test_bias_criticality_correlates_bias_with_the_init_row():
  result = {"rows": {"epoch 0": {"epoch": 0, "relative_drops": [0.3, 0.0, 0.1]},
                     "rand": {"epoch": None, "relative_drops": [0.0, 0.9, 0.8]}}}
  link = analysis.bias_criticality(result, [0.9, 0.5, 0.375])
  assert link["bias"] == pytest.approx([0.4, 0.0, 0.125])
  assert link["bias_criticality_spearman"] == pytest.approx(1.0)
  del result["rows"]["epoch 0"]
  assert analysis.bias_criticality(result, [0.9, 0.5, 0.375])["bias_criticality_spearman"] is None


def test_projections_over_training_match_each_checkpoint(cnn_run):
  result = analysis.projections_over_training(runs.load_run(cnn_run))
  assert sorted(result) == [0, 11, 22, 33]
  for step in (0, 33):
    params = checkpoints.load(cnn_run, step, 0)["params"]
    stats = projection_statistics(filter_projections(params))
    assert result[step][NET]["mass"] == pytest.approx(float(stats[NET]["mass"]))
    assert result[step]["Conv_1/kernel"]["mean"] == pytest.approx(
        float(stats["Conv_1/kernel"]["mean"]), rel=1e-5)
  assert result[0]["Conv_0/kernel"]["l2_dist"] == 0.0
  assert result[33]["Conv_0/kernel"]["l2_dist"] > 0.0
  assert runs.load_run(cnn_run).steps_per_epoch() == 11


def test_a_model_without_conv_layers_needs_with_linear():
  params = {"Dense_0": {"kernel": jnp.ones((3, 2))}}
  with pytest.raises(ValueError, match="no conv kernel larger than 1x1; pass --with_linear"):
    analysis._layers(params, path_rules.KERNEL_RULE, with_linear=False)
  assert analysis._layers(params, path_rules.KERNEL_RULE, with_linear=True) == ["Dense_0/kernel"]


@pytest.mark.parametrize("command", ["projections", "criticality"])
def test_command_line_writes_the_figure_and_the_json(cnn_run, tmp_path, command):
  out = tmp_path / f"{command}.png"
  completed = subprocess.run(
      [sys.executable, "-m", "jaxgen.analysis.hyperplanes", command, cnn_run, f"--out={tmp_path}"],
      capture_output=True, text=True, check=True)
  assert out.stat().st_size > 0
  name = f"{command}.json"
  with open(f"{cnn_run}/{name}") as f:
    saved = json.load(f)
  if command == "criticality":
    assert "rand " in completed.stdout and len(saved["rows"]["rand"]["accuracies"]) == 2
    assert "Spearman rho" in completed.stdout and len(saved["final_mass"]) == 2
  else:
    assert "(mass/mean per layer)" in completed.stdout and "0" in saved
