"""Layca rotates each kernel by exactly arctan(ρ_l) per step, for every base optimizer."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.config import ConfigError
from jaxgen.optim.keras import add_keras_l2, keras_base_step, keras_l2_to_decoupled, sgd_normalized
from jaxgen.optim.layer_rotation import layca, rotation_to_rate, scale_by_layca
from jaxgen.optim.multipliers import multiplier_tree

RHO = 3.0**-3
KERNELS = ("Conv_0/kernel", "Dense_0/kernel")
NON_LAYERS = ("Conv_0/bias", "BatchNorm_0/scale", "BatchNorm_0/bias", "Dense_0/bias")
BASES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd_amom", {}),
    ("adam", {}),
    ("rmsprop", {}),
    ("adagrad", {}),
]


def _toy(seed: int) -> dict:
  """A conv kernel, a dense kernel, their biases and a BatchNorm's scale/bias, all nonzero."""
  shapes = {"Conv_0": {"kernel": (3, 3, 2, 4), "bias": (4,)},
            "BatchNorm_0": {"scale": (4,), "bias": (4,)},
            "Dense_0": {"kernel": (8, 3), "bias": (3,)}}
  rng = np.random.default_rng(seed)  # numpy, so that making trees compiles nothing.
  return jax.tree.map(lambda shape: jnp.asarray(rng.standard_normal(shape), jnp.float32),
                      shapes, is_leaf=lambda x: isinstance(x, tuple))


def _leaf(tree: dict, path: str) -> np.ndarray:
  module, name = path.split("/")
  return np.asarray(tree[module][name], np.float64)


def _angle(a: np.ndarray, b: np.ndarray) -> float:
  """Angle between two flattened tensors, in float64."""
  a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
  cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
  return float(np.arccos(np.clip(cos, -1.0, 1.0)))


def _steps(tx, params, num_steps, seed=100):
  """Runs `num_steps` updates on random gradients; returns the parameters after each."""
  state = tx.init(params)
  update = jax.jit(tx.update)
  history = [params]
  for t in range(num_steps):
    grads = _toy(seed + t)
    updates, state = update(grads, state, params)
    params = optax.apply_updates(params, updates)
    history.append(params)
  return history


@pytest.mark.parametrize(("base", "kwargs"), BASES, ids=lambda x: str(x))
def test_each_step_rotates_every_kernel_by_arctan_rho_and_keeps_its_norm(base, kwargs):
  history = _steps(layca(base, RHO, **kwargs), _toy(0), num_steps=3)
  for before, after in zip(history[:-1], history[1:], strict=True):
    for path in KERNELS:
      p, q = _leaf(before, path), _leaf(after, path)
      assert _angle(p, q) == pytest.approx(np.arctan(RHO), abs=1e-6)
      assert np.linalg.norm(q) == pytest.approx(np.linalg.norm(_leaf(history[0], path)), rel=1e-5)


def test_rotation_follows_the_learning_rate_schedule():
  schedule = lambda count: 0.2 / (1.0 + count)
  history = _steps(layca("sgd", schedule), _toy(0), num_steps=3)
  for t, (before, after) in enumerate(zip(history[:-1], history[1:], strict=True)):
    for path in KERNELS:
      assert _angle(_leaf(before, path), _leaf(after, path)) == pytest.approx(
          np.arctan(0.2 / (1.0 + t)), abs=1e-6)


@pytest.mark.parametrize("alpha", [0.4, -0.6])
def test_multipliers_scale_the_rate_inside_layca(alpha):
  # Two kernel layers: Conv_0 first, Dense_0 last.
  expected = {"Conv_0/kernel": 0.6**5 if alpha > 0 else 1.0,
              "Dense_0/kernel": 1.0 if alpha > 0 else 0.4**5}
  for mults in (functools.partial(multiplier_tree, alpha=alpha),
                multiplier_tree(_toy(0), alpha=alpha)):
    before, after = _steps(layca("adam", RHO, multipliers=mults), _toy(0), num_steps=1)
    for path, mult in expected.items():
      assert _angle(_leaf(before, path), _leaf(after, path)) == pytest.approx(
          np.arctan(RHO * mult), abs=1e-6)


@pytest.mark.parametrize("base", ["sgd", "adam"])
def test_non_layer_parameters_stay_exactly_frozen_by_default(base):
  history = _steps(layca(base, RHO, momentum=0.9 if base == "sgd" else None), _toy(0), 2)
  for path in NON_LAYERS:
    np.testing.assert_array_equal(_leaf(history[-1], path), _leaf(history[0], path))


def test_train_non_layers_applies_the_plain_base_step():
  params, grads = _toy(0), _toy(1)
  tx = layca("sgd", RHO, train_non_layers=True)
  updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
  for path in NON_LAYERS:
    np.testing.assert_allclose(_leaf(updates, path), -RHO * _leaf(grads, path), rtol=1e-6)


def _reference_layca(p: np.ndarray, s: np.ndarray, rho: float, eps: float = 1e-7) -> np.ndarray:
  """Steps 1-4 of the paper, in float64 (s is the base step pointing uphill)."""
  s = s - np.sum(s * p) / np.sum(p * p) * p
  norm_s = np.linalg.norm(s)
  s = np.zeros_like(s) if norm_s <= eps else s * np.linalg.norm(p) / norm_s
  new = p - rho * s
  return new * np.linalg.norm(p) / np.linalg.norm(new)


def test_applied_updates_equal_the_papers_kernel():
  params, grads = _toy(0), _toy(1)
  base_updates = jax.tree.map(lambda g: -RHO * g, grads)  # Plain SGD, optax sign.
  tx = scale_by_layca(RHO)
  updates, _ = jax.jit(tx.update)(base_updates, tx.init(params), params)
  new_params = optax.apply_updates(params, updates)
  for path in KERNELS:
    expected = _reference_layca(_leaf(params, path), RHO * _leaf(grads, path), RHO)
    np.testing.assert_allclose(_leaf(new_params, path), expected, rtol=1e-5, atol=1e-6)


def test_update_without_params_raises():
  tx = scale_by_layca(RHO)
  with pytest.raises(ValueError, match="params"):
    tx.update(_toy(1), tx.init(_toy(0)), None)


def test_unknown_base_names_the_field_and_choices():
  with pytest.raises(ConfigError, match=r"optim\.base.*sgd, sgd_amom, adam, rmsprop, adagrad"):
    layca("lamb", RHO)


def test_zero_norm_kernel_and_zero_gradient_give_zero_updates():
  params = _toy(0)
  params["Dense_0"]["kernel"] = jnp.zeros((8, 3))
  grads = _toy(1)
  grads["Conv_0"]["kernel"] = jnp.zeros((3, 3, 2, 4))
  tx = layca("adam", RHO)
  updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
  for path in KERNELS:
    np.testing.assert_array_equal(_leaf(updates, path), 0.0)


def test_jitted_update_compiles_once():
  tx = layca("sgd", RHO, momentum=0.9)
  traces = []

  def step(params, state, grads):
    traces.append(1)  # Runs only while tracing.
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), state

  step = jax.jit(step)
  params = _toy(0)
  state = tx.init(params)
  for seed in (1, 2):
    params, state = step(params, state, _toy(seed))
  assert len(traces) == 1
  assert step._cache_size() == 1


def test_rotation_to_rate_inverts_the_cosine_distance_and_is_safe_at_the_ends():
  theta = np.array([0.0, 1e-3, 0.3, 1.2])
  np.testing.assert_allclose(rotation_to_rate(1.0 - np.cos(theta)), np.tan(theta), rtol=1e-4)
  rates = np.asarray(rotation_to_rate(np.array([-1e-9, 0.0, 1.0, 1.5])))
  assert rates[0] == 0.0 and rates[1] == 0.0
  assert np.all(np.isfinite(rates)) and np.all(rates[2:] > 1e6)


def _toy_loss(params, x, y):
  hidden = jnp.tanh(x @ params["Dense_0"]["kernel"])
  return jnp.mean((hidden @ params["Dense_1"]["kernel"] - y) ** 2)


def _rotations(tx, params, x, y, num_steps):
  """Per-step angles (steps, layers) of the two kernels under `tx` on the toy loss."""

  @jax.jit
  def step(params, state):
    updates, state = tx.update(jax.grad(_toy_loss)(params, x, y), state, params)
    return optax.apply_updates(params, updates), state

  state = tx.init(params)
  angles = []
  for _ in range(num_steps):
    new, state = step(params, state)
    angles.append([_angle(params[m]["kernel"], new[m]["kernel"]) for m in ("Dense_0", "Dense_1")])
    params = new
  return np.array(angles)


def test_recorded_rates_make_sgd_layca_copy_adams_per_layer_rotations():
  rng = np.random.default_rng(0)
  normal = lambda *shape: jnp.asarray(rng.standard_normal(shape), jnp.float32)
  params = {"Dense_0": {"kernel": normal(4, 3)}, "Dense_1": {"kernel": normal(3, 2)}}
  x, y = normal(16, 4), normal(16, 2)
  adam_angles = _rotations(optax.adam(0.05), params, x, y, num_steps=5)
  rates = rotation_to_rate(1.0 - np.cos(adam_angles))
  layca_angles = _rotations(layca("sgd", 1.0, recorded_rates=rates), params, x, y, num_steps=5)
  assert np.all(adam_angles > 1e-3)  # The copied rotations are not trivially zero.
  np.testing.assert_allclose(layca_angles, adam_angles, atol=1e-5)


def test_sgd_normalized_moves_each_tensor_by_lr():
  params, grads = _toy(0), _toy(1)
  grads["Dense_0"]["bias"] = jnp.zeros((3,))
  tx = sgd_normalized(0.1)
  updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
  for path in NON_LAYERS + KERNELS:
    expected = 0.0 if path == "Dense_0/bias" else 0.1
    assert np.linalg.norm(_leaf(updates, path)) == pytest.approx(expected, rel=1e-6)
  unit = _leaf(grads, "Dense_0/kernel") / np.linalg.norm(_leaf(grads, "Dense_0/kernel"))
  np.testing.assert_allclose(_leaf(updates, "Dense_0/kernel"), -0.1 * unit, rtol=1e-5)


def test_keras_l2_adds_the_gradient_of_lambda_times_squared_norm():
  params, lam = _toy(0), 5e-4
  assert keras_l2_to_decoupled(lam) == pytest.approx(1e-3)
  keras_grad = jax.grad(lambda p: lam * sum(jnp.sum(p[m]["kernel"] ** 2)
                                           for m in ("Conv_0", "Dense_0")))(params)
  zeros = jax.tree.map(jnp.zeros_like, params)
  tx = add_keras_l2(lam)
  updates, _ = jax.jit(tx.update)(zeros, tx.init(params), params)
  for path in KERNELS:
    np.testing.assert_allclose(_leaf(updates, path), _leaf(keras_grad, path), rtol=1e-6)
    np.testing.assert_allclose(_leaf(updates, path), 2 * lam * _leaf(params, path), rtol=1e-6)
  for path in NON_LAYERS:
    np.testing.assert_array_equal(_leaf(updates, path), 0.0)


def _keras_reference(base: str, grads: list[np.ndarray], lr: float) -> list[np.ndarray]:
  """Keras 2.1.2 Adam / RMSprop / Adagrad steps (p_new − p) in float64, eps = 1e-7."""
  a, m, steps = np.zeros_like(grads[0]), np.zeros_like(grads[0]), []
  for t, g in enumerate(grads, start=1):
    if base == "adam":
      m, a = 0.9 * m + 0.1 * g, 0.999 * a + 0.001 * g * g
      steps.append(-lr * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(a) + 1e-7))
    else:
      a = 0.9 * a + 0.1 * g * g if base == "rmsprop" else a + g * g
      steps.append(-lr * g / (np.sqrt(a) + 1e-7))
  return steps


@pytest.mark.parametrize("base", ["adam", "rmsprop", "adagrad"])
def test_keras_base_step_matches_keras_formulas(base):
  # Tiny gradients, where the placement of eps matters.
  grads = [1e-6 * _leaf(_toy(seed), "Dense_0/kernel") for seed in (1, 2, 3)]
  tx = keras_base_step(base, 0.01)
  state = tx.init(jnp.zeros((8, 3)))
  for g, expected in zip(grads, _keras_reference(base, grads, 0.01), strict=True):
    step, state = tx.update(jnp.asarray(g, jnp.float32), state)
    np.testing.assert_allclose(step, expected, rtol=1e-5)
