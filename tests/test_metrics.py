"""Layer rotation and relative weight change on hand-computed examples."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.config import ConfigError
from jaxgen.metrics import METRICS, layer_rotation, relative_weight_change, step_rotation
from tests.conftest import make_tiny_config


def _tree(dense_kernel, conv_kernel, bias_shift=0.0) -> dict:
  """A dense and a 1x1 conv layer with biases, and a BatchNorm; only kernels are layers."""
  return {
      "Dense_0": {"kernel": jnp.asarray(dense_kernel, jnp.float32),
                  "bias": jnp.asarray([1.0, 2.0]) + bias_shift},
      "Conv_0": {"kernel": jnp.asarray(conv_kernel, jnp.float32).reshape(1, 1, 1, 2),
                 "bias": jnp.asarray([0.5, -0.5]) * (1.0 + bias_shift)},
      "BatchNorm_0": {"scale": jnp.asarray([1.0, 1.0]) + bias_shift,
                      "bias": jnp.asarray([0.0, 3.0]) - bias_shift},
  }


# Dense: w0 = [1, 0, 0, 1], w = [0, 1, 0, 1]. Conv: w0 = [3, 4], w = [0, 5]. Biases and the
# BatchNorm change too, and must not show up.
BEFORE = _tree([[1.0, 0.0], [0.0, 1.0]], [3.0, 4.0])
AFTER = _tree([[0.0, 1.0], [0.0, 1.0]], [0.0, 5.0], bias_shift=7.0)
LAYERS = ["Conv_0/kernel", "Dense_0/kernel"]

# Rotation: Dense 1 - <w, w0> / (|w| |w0|) = 1 - 1 / (sqrt2 sqrt2) = 0.5;
#           Conv  1 - 20 / (5 * 5) = 0.2.
ROTATION = {"Conv_0/kernel": 0.2, "Dense_0/kernel": 0.5}
# l1_ratio: Dense |[1, 1, 0, 0]|_1 / |[1, 0, 0, 1]|_1 = 2 / 2 = 1;  Conv |[3, 1]|_1 / 7 = 4/7.
L1_RATIO = {"Conv_0/kernel": 4.0 / 7.0, "Dense_0/kernel": 1.0}
# elementwise_mean over w_prev != 0: Dense mean(1/1, 0/1) = 0.5 (the two zeros are skipped,
# one of which moved by 1); Conv mean(3/3, 1/4) = 0.625.
ELEMENTWISE_MEAN = {"Conv_0/kernel": 0.625, "Dense_0/kernel": 0.5}


def _as_floats(result: dict) -> dict:
  return {path: float(value) for path, value in result.items()}


def test_layer_rotation_is_the_cosine_distance_of_each_kernel_to_its_initial_value():
  result = layer_rotation(AFTER, BEFORE)
  assert list(result) == LAYERS
  assert _as_floats(result) == pytest.approx(ROTATION, rel=1e-6)


def test_layer_rotation_is_zero_for_a_rescaled_kernel_and_two_for_a_negated_one():
  result = layer_rotation(_tree([[3.0, 0.0], [0.0, 3.0]], [-3.0, -4.0]), BEFORE)
  assert _as_floats(result) == pytest.approx({"Conv_0/kernel": 2.0, "Dense_0/kernel": 0.0},
                                             abs=1e-6)


def test_relative_weight_change_l1_ratio_is_the_l1_change_over_the_previous_l1_norm():
  result = relative_weight_change(AFTER, BEFORE, "l1_ratio")
  assert list(result) == LAYERS
  assert _as_floats(result) == pytest.approx(L1_RATIO, rel=1e-6)
  assert _as_floats(relative_weight_change(AFTER, BEFORE)) == pytest.approx(L1_RATIO, rel=1e-6)


def test_relative_weight_change_elementwise_mean_averages_over_nonzero_previous_weights():
  result = relative_weight_change(AFTER, BEFORE, "elementwise_mean")
  assert list(result) == LAYERS
  assert _as_floats(result) == pytest.approx(ELEMENTWISE_MEAN, rel=1e-6)


def test_unchanged_parameters_give_zero_rotation_and_zero_change():
  for result in (layer_rotation(BEFORE, BEFORE),
                 relative_weight_change(BEFORE, BEFORE, "l1_ratio"),
                 relative_weight_change(BEFORE, BEFORE, "elementwise_mean")):
    assert _as_floats(result) == pytest.approx({path: 0.0 for path in LAYERS}, abs=1e-6)


def test_zero_norm_kernels_give_zero_not_nan():
  zero = _tree(np.zeros((2, 2)), np.zeros(2))
  for result in (layer_rotation(AFTER, zero), layer_rotation(zero, BEFORE),
                 layer_rotation(zero, zero),
                 relative_weight_change(AFTER, zero, "l1_ratio"),
                 relative_weight_change(AFTER, zero, "elementwise_mean")):
    assert _as_floats(result) == {path: 0.0 for path in LAYERS}


def test_outputs_are_in_natural_network_order_dense_2_before_dense_10():
  def tree(scale):
    return {name: {"kernel": jnp.full((2, 2), scale), "bias": jnp.zeros(2)}
            for name in ("Dense_10", "Dense_2", "Dense_1")}

  for result in (layer_rotation(tree(2.0), tree(1.0)),
                 relative_weight_change(tree(2.0), tree(1.0), "l1_ratio"),
                 relative_weight_change(tree(2.0), tree(1.0), "elementwise_mean")):
    assert list(result) == ["Dense_1/kernel", "Dense_2/kernel", "Dense_10/kernel"]
  assert _as_floats(relative_weight_change(tree(2.0), tree(1.0))) == {
      "Dense_1/kernel": 1.0, "Dense_2/kernel": 1.0, "Dense_10/kernel": 1.0}


def test_nested_module_paths_are_joined_with_slashes():
  params = {"Block_0": {"Conv_0": {"kernel": jnp.ones((2,)), "bias": jnp.ones(2)}}}
  assert list(layer_rotation(params, params)) == ["Block_0/Conv_0/kernel"]


def test_layer_rule_selects_which_leaves_are_layers():
  result = layer_rotation(AFTER, BEFORE, layer_rule=r"Dense_.*/kernel")
  assert _as_floats(result) == pytest.approx({"Dense_0/kernel": 0.5}, rel=1e-6)


@pytest.mark.parametrize("metric", [
    layer_rotation,
    functools.partial(relative_weight_change, variant="l1_ratio"),
    functools.partial(relative_weight_change, variant="elementwise_mean"),
], ids=["layer_rotation", "rwc_l1_ratio", "rwc_elementwise_mean"])
def test_metrics_give_the_same_values_under_jit_and_vmap_over_seeds(metric):
  eager = _as_floats(metric(AFTER, BEFORE))
  assert _as_floats(jax.jit(metric)(AFTER, BEFORE)) == pytest.approx(eager, rel=1e-6)

  # Three seeds along a leading axis: the example, it unchanged, and its negated rotation.
  negated = jax.tree.map(lambda x: -x, AFTER)
  after = jax.tree.map(lambda *xs: jnp.stack(xs), AFTER, BEFORE, negated)
  before = jax.tree.map(lambda *xs: jnp.stack(xs), BEFORE, BEFORE, BEFORE)
  batched = jax.jit(jax.vmap(metric))(after, before)
  assert list(batched) == LAYERS
  for seed, params in enumerate((AFTER, BEFORE, negated)):
    expected = _as_floats(metric(params, BEFORE))
    got = {path: float(value[seed]) for path, value in batched.items()}
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_unknown_rwc_variant_raises_naming_the_config_field():
  with pytest.raises(ConfigError, match=r"metrics\.rwc_variant='l2_ratio'.*l1_ratio"):
    relative_weight_change(AFTER, BEFORE, "l2_ratio")


def test_registered_metrics_compare_against_initial_resp_previous_parameters():
  config = make_tiny_config().metrics
  config.rwc_variant = "elementwise_mean"
  assert METRICS.metadata("layer_rotation")["reference"] == "initial"
  assert METRICS.metadata("relative_weight_change")["reference"] == "previous"
  rotation = METRICS.build("layer_rotation", config, AFTER, BEFORE)
  change = METRICS.build("relative_weight_change", config, AFTER, BEFORE)
  assert _as_floats(rotation) == pytest.approx(ROTATION, rel=1e-6)
  assert _as_floats(change) == pytest.approx(ELEMENTWISE_MEAN, rel=1e-6)


def _float64_cosine_distance(w: np.ndarray, w_ref: np.ndarray) -> float:
  u, v = w.astype(np.float64).ravel(), w_ref.astype(np.float64).ravel()
  return 0.5 * float(np.sum((u / np.linalg.norm(u) - v / np.linalg.norm(v)) ** 2))


@pytest.mark.parametrize("distance", [1e-9, 1e-7, 1e-5, 1e-3, 0.1, 0.5, 1.0])
def test_layer_and_step_rotation_agree_with_float64_down_to_tiny_angles(distance):
  rng = np.random.default_rng(0)
  w0 = rng.standard_normal((50, 40)).astype(np.float32)
  # A rotation by the angle whose cosine distance is `distance`, in a random direction
  # orthogonal to w0 (computed in float64, then rounded to float32 as a trained kernel is).
  direction = rng.standard_normal(w0.shape)
  direction -= np.sum(direction * w0) / np.sum(w0 * w0) * w0
  direction *= np.linalg.norm(w0) / np.linalg.norm(direction)
  theta = np.arccos(1.0 - distance)
  w = (np.cos(theta) * w0 + np.sin(theta) * direction).astype(np.float32)
  # And a perturbation that also changes the norm, as an optimizer step does.
  noisy = (w0 + np.sqrt(distance) * rng.standard_normal(w0.shape)).astype(np.float32)
  for kernel in (w, noisy):
    expected = _float64_cosine_distance(kernel, w0)
    params, reference = {"Dense_0": {"kernel": kernel}}, {"Dense_0": {"kernel": w0}}
    for metric in (layer_rotation, step_rotation):
      value = float(jax.jit(metric)(params, reference)["Dense_0/kernel"])
      assert value == pytest.approx(expected, rel=1e-6), metric.__name__
