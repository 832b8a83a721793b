"""Blumenfeld et al.'s weight correlations, against numpy's corrcoef and hand-built kernels."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import train
from jaxgen.metrics import METRICS, diversity_score, weight_correlations
from jaxgen.metrics.diversity import mean_pairwise_correlation, unit_rows


def _reference(rows: np.ndarray) -> float:
  """The original's measure: np.corrcoef of the rows, NaN -> 1, mean of the lower triangle."""
  with np.errstate(invalid="ignore", divide="ignore"):
    corr = np.corrcoef(rows)
  corr[np.isnan(corr)] = 1.0
  return corr[np.tril_indices(len(rows), k=-1)].mean()


def test_mean_pairwise_correlation_matches_corrcoef_with_nan_as_one():
  rng = np.random.default_rng(0)
  rows = rng.standard_normal((12, 7))
  rows[3] = 2.0  # A constant row: its pairs count as 1.
  rows[5] = 3 * rows[4] + 1  # Perfectly correlated with row 4.
  assert float(mean_pairwise_correlation(jnp.asarray(rows))) == pytest.approx(
      _reference(rows), abs=1e-6)
  assert float(mean_pairwise_correlation(jnp.zeros((4, 9)))) == 1.0
  assert np.isnan(float(mean_pairwise_correlation(jnp.ones((1, 9)))))  # No pair.


def test_rows_follow_the_pytorch_layout_of_units():
  # flax conv kernel (kh, kw, in, out) = (2, 1, 3, 4) with entry value "o i t".
  kh, kw, cin, cout = 2, 1, 3, 4
  kernel = np.zeros((kh, kw, cin, cout))
  for t in range(kh * kw):
    for i in range(cin):
      for o in range(cout):
        kernel.reshape(kh * kw, cin, cout)[t, i, o] = 100 * o + 10 * i + t
  forward = np.asarray(unit_rows(jnp.asarray(kernel), "forward"))
  backward = np.asarray(unit_rows(jnp.asarray(kernel), "backward"))
  taps = np.asarray(unit_rows(jnp.asarray(kernel), "kernel"))
  assert forward.shape == (4, 6) and backward.shape == (3, 8) and taps.shape == (12, 2)
  np.testing.assert_array_equal(forward[2], [200, 201, 210, 211, 220, 221])
  np.testing.assert_array_equal(backward[1], [10, 11, 110, 111, 210, 211, 310, 311])
  np.testing.assert_array_equal(taps[5], [120, 121])  # (out 1, in 2).
  assert unit_rows(jnp.ones((5, 3)), "kernel").shape == (15, 1)
  with pytest.raises(ValueError, match="forward, backward, kernel"):
    unit_rows(jnp.ones((5, 3)), "sideways")


def test_symmetric_kernels_are_fully_correlated_and_random_ones_are_not():
  averaging = jnp.full((3, 3, 16, 32), 1 / 16)
  zeros = jnp.zeros((3, 3, 32, 32))
  random = jax.random.normal(jax.random.key(0), (3, 3, 32, 64))
  params = {"a": {"kernel": averaging}, "b": {"kernel": zeros}, "c": {"kernel": random},
            "d": {"kernel": jnp.zeros((64, 10)), "bias": jnp.zeros(10)}}
  for kind in ("forward", "backward", "kernel"):
    values = weight_correlations(params, kind)
    assert list(values) == ["a/kernel", "b/kernel", "c/kernel", "d/kernel"]
    assert float(values["a/kernel"]) == float(values["b/kernel"]) == 1.0
    assert abs(float(values["c/kernel"])) < 0.05
  backward = weight_correlations(params, "backward")
  assert float(diversity_score(backward)) == -np.inf
  assert float(diversity_score({"c": backward["c/kernel"]})) == pytest.approx(
      0.5 * np.log(1 - float(backward["c/kernel"]) ** 2))
  # A first layer on 1-channel images has one backward row: undefined, left out of the sum.
  one_channel = weight_correlations({"a": {"kernel": random[:, :, :1, :]}}, "backward")
  assert np.isnan(float(one_channel["a/kernel"]))
  assert float(diversity_score({**one_channel, "c": backward["c/kernel"]})) == pytest.approx(
      float(diversity_score({"c": backward["c/kernel"]})))


def test_more_than_5000_units_are_subsampled_reproducibly():
  rows = jax.random.normal(jax.random.key(1), (6000, 4))
  value = mean_pairwise_correlation(rows)
  assert float(value) == float(mean_pairwise_correlation(rows))
  subset = np.asarray(rows)[np.asarray(jax.random.permutation(jax.random.key(0), 6000))[:5000]]
  assert float(value) == pytest.approx(_reference(subset), abs=1e-5)


def test_correlations_are_logged_per_layer(tiny_config, tmp_path):
  config = tiny_config(**{"metrics.names": ("forward_correlation", "backward_correlation",
                                            "kernel_correlation"), "logging.figures": True})
  result = train.train_and_evaluate(config, str(tmp_path))
  row = result.final[(0, "train")]
  params = jax.tree.map(lambda x: x[0], result.state.params)
  expected = weight_correlations(params, "backward")
  assert row["backward_correlation/Dense_0/kernel"] == pytest.approx(
      float(expected["Dense_0/kernel"]), abs=1e-6)
  assert row["kernel_correlation/Dense_1/kernel"] == 1.0  # One tap per (out, in) pair.
  assert METRICS.metadata("forward_correlation")["reference"] is None
  assert sorted(os.listdir(tmp_path / "figures")) == [
      "backward_correlation.png", "forward_correlation.png", "kernel_correlation.png",
      "learning_curves.png"]


def test_identical_non_constant_rows_never_exceed_one():
  rows = jnp.tile(jax.random.normal(jax.random.key(3), (1, 9)), (640, 1))
  value = float(mean_pairwise_correlation(rows))
  assert value <= 1.0 and value == pytest.approx(1.0, abs=1e-5)
  assert not np.isnan(float(diversity_score({"a": jnp.asarray(1.0000012)})))
