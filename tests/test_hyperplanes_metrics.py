"""Gamba et al.'s projection statistics of filters, against hand-computed values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import train
from jaxgen.config import read_run_config
from jaxgen.metrics import (
    METRICS,
    distance_from_init,
    filter_projections,
    projection_statistics,
)
from jaxgen.metrics.hyperplanes import NET
from jaxgen.models import build_model


def _conv_with_filters(filters: list[np.ndarray]) -> np.ndarray:
  """A (3, 3, 2, N) flax conv kernel whose filter n is filters[n] (shape (3, 3, 2))."""
  return np.stack(filters, axis=-1).astype(np.float32)


def _params():
  ones = np.ones((3, 3, 2))
  alternating = np.where(np.arange(18).reshape(3, 3, 2) % 2 == 0, 1.0, -1.0)
  tilted = ones.copy()
  tilted[0, 0, 0] = -5.0  # Sum 12, norm sqrt(17 + 25) = sqrt(42).
  return {
      "conv": {"kernel": jnp.asarray(_conv_with_filters([ones, -2 * ones, alternating, tilted])),
               "bias": jnp.full((4,), 100.0)},  # Biases are ignored.
      "shortcut": {"kernel": jnp.ones((1, 1, 4, 4))},  # 1x1: skipped.
      "dense": {"kernel": jnp.asarray([[1.0, -1.0], [1.0, 3.0]])},  # Neurons are columns.
  }


def test_projections_are_cosines_with_the_all_ones_direction():
  projections = filter_projections(_params())
  assert list(projections) == ["conv/kernel"]
  np.testing.assert_allclose(projections["conv/kernel"],
                             [1.0, -1.0, 0.0, 12 / (np.sqrt(42) * np.sqrt(18))], rtol=1e-6)
  raw = filter_projections(_params(), normalize=False)
  np.testing.assert_allclose(raw["conv/kernel"], [18.0, -36.0, 0.0, 12.0])
  with_linear = filter_projections(_params(), with_linear=True)
  assert list(with_linear) == ["conv/kernel", "dense/kernel"]
  np.testing.assert_allclose(with_linear["dense/kernel"],
                             [1.0, 2 / (np.sqrt(10) * np.sqrt(2))], rtol=1e-6)


def test_mass_counts_filters_at_or_below_zero_and_net_pools_every_layer():
  stats = projection_statistics(filter_projections(_params(), with_linear=True))
  assert float(stats["conv/kernel"]["mass"]) == 0.5  # -1 and the exact 0.
  assert float(stats["dense/kernel"]["mass"]) == 0.0
  assert float(stats[NET]["mass"]) == pytest.approx(2 / 6)
  expected_mean = np.mean([1.0, -1.0, 0.0, 12 / np.sqrt(42 * 18)])
  assert float(stats["conv/kernel"]["mean"]) == pytest.approx(expected_mean, rel=1e-6)


def test_distances_from_init_are_relative_frobenius_and_max_norms():
  init = _params()
  params = jax.tree.map(lambda x: x, init)
  params["conv"]["kernel"] = init["conv"]["kernel"].at[0, 0, 0, 1].add(4.0)
  distances = distance_from_init(params, init)
  # The kernel's squared norm: 18 + 4 * 18 + 18 + 42 = 150; the largest |w| is 5.
  assert float(distances["conv/kernel"]["l2_dist"]) == pytest.approx(4 / np.sqrt(150), rel=1e-6)
  assert float(distances["conv/kernel"]["l_inf_dist"]) == pytest.approx(4 / 5, rel=1e-6)
  zero_init = {"conv": {"kernel": jnp.zeros((3, 3, 2, 4))}}
  assert np.isnan(float(distance_from_init(params, zero_init)["conv/kernel"]["l2_dist"]))


def test_mass_is_about_one_half_at_a_random_init():
  model = build_model("c10_cnn1", 10)
  params = jax.jit(lambda key: model.init(key, jnp.zeros((1, 32, 32, 3)), train=False))(
      jax.random.key(0))["params"]
  stats = projection_statistics(filter_projections(params))
  # 24 conv layers of 32-256 filters: the pooled mass is 0.5 up to sampling noise.
  assert len(stats) == 25 and abs(float(stats[NET]["mass"]) - 0.5) < 0.03
  assert all(abs(float(s["mean"])) < 0.05 for s in stats.values())


def test_projection_mass_is_logged_per_layer_during_training(tiny_config, tmp_path):
  config = tiny_config(**{"metrics.names": ("projection_mass", "projection_mean"),
                          "metrics.projection_with_linear": True, "logging.figures": True})
  result = train.train_and_evaluate(config, str(tmp_path))
  row = result.final[(0, "train")]
  params = jax.tree.map(lambda x: x[0], result.state.params)
  stats = projection_statistics(filter_projections(params, with_linear=True))
  for layer in ("Dense_0/kernel", "Dense_1/kernel"):
    assert row[f"projection_mass/{layer}"] == pytest.approx(float(stats[layer]["mass"]))
    assert row[f"projection_mean/{layer}"] == pytest.approx(float(stats[layer]["mean"]),
                                                            rel=1e-5)
  assert (tmp_path / "figures" / "projection_mass.png").exists()
  assert METRICS.metadata("projection_mass")["reference"] is None
  assert read_run_config(str(tmp_path)).metrics.projection_with_linear
