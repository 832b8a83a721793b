"""Learning-rate schedules in epochs, and the optimizer built from `config.optim`."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.config import ConfigError
from jaxgen.optim.optimizers import build_optimizer, decoupled_weight_decay
from jaxgen.optim.schedules import build_schedule
from tests.conftest import make_tiny_config

STEPS_PER_EPOCH = 10


def _optim(**fields):
  optim = make_tiny_config().optim
  for field, value in fields.items():
    optim[field] = value
  return optim


def _lrs(schedule, steps) -> list[float]:
  """The schedule at each step, given as optax does: an int32 step count."""
  return [float(schedule(jnp.asarray(step, jnp.int32))) for step in steps]


# --- Schedules (learning rates and factors are powers of two, so values are exact) ---------


def test_constant_schedule_is_the_learning_rate_at_every_step():
  schedule = build_schedule(_optim(learning_rate=0.25, schedule="constant"), STEPS_PER_EPOCH)
  assert _lrs(schedule, [0, 1, 10, 10_000]) == [0.25] * 4


def test_step_schedule_multiplies_by_the_factor_once_per_reached_milestone():
  # Milestones are 0-based epoch indices, given unsorted: epochs 0-2, 3-5 and 6+.
  optim = _optim(learning_rate=0.5, schedule="step", milestones=(6, 3), decay_factor=0.25)
  schedule = build_schedule(optim, STEPS_PER_EPOCH)
  steps = [0, 29, 30, 31, 59, 60, 61, 10_000]
  assert _lrs(schedule, steps) == [0.5, 0.5, 0.125, 0.125, 0.125, 0.03125, 0.03125, 0.03125]


def test_step_schedule_with_repeated_milestones_decays_twice_and_without_any_is_constant():
  optim = _optim(learning_rate=1.0, schedule="step", milestones=(2, 2), decay_factor=0.5)
  assert _lrs(build_schedule(optim, 5), [9, 10]) == [1.0, 0.25]
  optim = _optim(learning_rate=1.0, schedule="step", milestones=(), decay_factor=0.5)
  assert _lrs(build_schedule(optim, 5), [0, 1000]) == [1.0, 1.0]


def test_step_schedule_at_fractional_factor_is_lr_times_factor_to_the_k():
  optim = _optim(learning_rate=0.1, schedule="step", milestones=(1, 2), decay_factor=0.1)
  lrs = _lrs(build_schedule(optim, STEPS_PER_EPOCH), [5, 15, 25])
  np.testing.assert_allclose(lrs, [0.1, 0.01, 0.001], rtol=1e-6)


def test_exponential_schedule_decays_once_per_epoch_and_is_constant_within_it():
  optim = _optim(learning_rate=2.0, schedule="exponential", decay_factor=0.5)
  schedule = build_schedule(optim, 4)
  assert _lrs(schedule, range(13)) == [2.0] * 4 + [1.0] * 4 + [0.5] * 4 + [0.25]
  assert _lrs(schedule, [40]) == [2.0 * 0.5**10]


def test_warmup_ramps_linearly_from_start_factor_times_lr_to_lr():
  # 2 warm-up epochs of 10 steps: lr(s) = lr * (f + start * (1 - f)), f = s / 20.
  optim = _optim(learning_rate=2.0, schedule="constant", warmup_epochs=2,
                 warmup_start_factor=0.25)
  schedule = build_schedule(optim, STEPS_PER_EPOCH)
  assert _lrs(schedule, [0, 10, 20, 21, 1000]) == [0.5, 1.25, 2.0, 2.0, 2.0]
  # Every step in between: 2 * (0.25 + 0.75 * s / 20).
  np.testing.assert_allclose(_lrs(schedule, range(21)), 0.5 + 0.075 * np.arange(21), rtol=1e-6)


def test_warmup_multiplies_the_underlying_schedule():
  optim = _optim(learning_rate=2.0, schedule="step", milestones=(1,), decay_factor=0.5,
                 warmup_epochs=2, warmup_start_factor=0.25)
  schedule = build_schedule(optim, STEPS_PER_EPOCH)
  # Step 10: the step schedule gives 1.0 and the ramp 0.625; step 20 is past the ramp.
  assert _lrs(schedule, [0, 10, 20]) == [0.5, 0.625, 1.0]


def test_default_warmup_start_factor_starts_at_a_tenth_of_the_lr():
  optim = _optim(learning_rate=1.0, warmup_epochs=1)
  assert optim.warmup_start_factor == 0.1
  np.testing.assert_allclose(_lrs(build_schedule(optim, STEPS_PER_EPOCH), [0, 5, 10]),
                             [0.1, 0.55, 1.0], rtol=1e-6)


def test_schedules_work_under_jit():
  optim = _optim(learning_rate=0.5, schedule="step", milestones=(1,), decay_factor=0.5,
                 warmup_epochs=1, warmup_start_factor=0.5)
  schedule = build_schedule(optim, STEPS_PER_EPOCH)
  steps = jnp.arange(25, dtype=jnp.int32)
  np.testing.assert_allclose(jax.jit(jax.vmap(schedule))(steps), _lrs(schedule, range(25)),
                             rtol=1e-6)


def test_negative_learning_rate_and_unknown_schedule_raise_naming_the_field():
  with pytest.raises(ConfigError, match="optim.learning_rate"):
    build_schedule(_optim(learning_rate=-0.1), STEPS_PER_EPOCH)
  with pytest.raises(ConfigError, match=r"optim\.schedule='cosine'.*exponential"):
    build_schedule(_optim(schedule="cosine"), STEPS_PER_EPOCH)


# --- Weight decay ---------------------------------------------------------------------------


def _params() -> dict:
  return {"Dense_0": {"kernel": jnp.asarray([[1.0, -2.0], [4.0, 0.5]]),
                      "bias": jnp.asarray([8.0, -1.0])}}


def _one_step(optim, params, grads=None):
  tx, _ = build_optimizer(optim, STEPS_PER_EPOCH)
  grads = jax.tree.map(jnp.zeros_like, params) if grads is None else grads
  updates, _ = tx.update(grads, tx.init(params), params)
  return jax.tree.map(np.asarray, optax.apply_updates(params, updates))


@pytest.mark.parametrize("convention, shrink", [("pytorch", 0.125), ("keras", 0.25)])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_weight_decay_step_with_zero_gradient_shrinks_by_lr_times_lambda_or_two_lambda(
    convention, shrink, momentum):
  # lr 0.5, λ 0.25: PyTorch w -= lr λ w = w / 8; Keras l2(λ) has gradient 2λw: w -= w / 4.
  optim = _optim(learning_rate=0.5, momentum=momentum, weight_decay=0.25,
                 weight_decay_convention=convention)
  params = _params()
  new = _one_step(optim, params)
  for leaf, old in zip(jax.tree.leaves(new), jax.tree.leaves(params), strict=True):
    np.testing.assert_array_equal(leaf, np.asarray(old) * (1.0 - shrink))


def test_decoupled_weight_decay_is_lambda_for_pytorch_and_two_lambda_for_keras():
  assert decoupled_weight_decay(_optim(weight_decay=0.25)) == 0.25
  assert decoupled_weight_decay(_optim(weight_decay=0.25,
                                       weight_decay_convention="keras")) == 0.5


def test_weight_decay_rule_decays_only_the_matching_leaves():
  optim = _optim(learning_rate=0.5, momentum=0.0, weight_decay=0.25,
                 weight_decay_rule=r".*/kernel")
  params = _params()
  new = _one_step(optim, params)
  np.testing.assert_array_equal(new["Dense_0"]["kernel"],
                                np.asarray(params["Dense_0"]["kernel"]) * 0.875)
  np.testing.assert_array_equal(new["Dense_0"]["bias"], params["Dense_0"]["bias"])


def test_zero_weight_decay_leaves_parameters_unchanged_by_a_zero_gradient():
  params = _params()
  new = _one_step(_optim(weight_decay=0.0), params)
  for leaf, old in zip(jax.tree.leaves(new), jax.tree.leaves(params), strict=True):
    np.testing.assert_array_equal(leaf, old)


def test_invalid_weight_decay_settings_raise_naming_the_field():
  with pytest.raises(ConfigError, match=r"optim\.weight_decay_convention='tf'.*keras"):
    decoupled_weight_decay(_optim(weight_decay=0.1, weight_decay_convention="tf"))
  with pytest.raises(ConfigError, match=r"optim\.weight_decay=-0\.1"):
    build_optimizer(_optim(weight_decay=-0.1), STEPS_PER_EPOCH)


# --- SGD ------------------------------------------------------------------------------------


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_follows_optax_sgd_with_the_same_momentum_and_nesterov(momentum, nesterov):
  optim = _optim(name="sgd", learning_rate=0.1, momentum=momentum, nesterov=nesterov)
  ours, _ = build_optimizer(optim, STEPS_PER_EPOCH)
  transforms = (ours, optax.sgd(0.1, momentum=momentum or None, nesterov=nesterov),
                optax.sgd(0.1))
  rng = np.random.default_rng(0)
  params = {"w": jnp.asarray(rng.standard_normal(5), jnp.float32)}
  states = [tx.init(params) for tx in transforms]
  paths = [params] * len(transforms)
  for _ in range(3):
    grads = {"w": jnp.asarray(rng.standard_normal(5), jnp.float32)}
    for i, tx in enumerate(transforms):
      updates, states[i] = tx.update(grads, states[i], paths[i])
      paths[i] = optax.apply_updates(paths[i], updates)
    np.testing.assert_allclose(paths[0]["w"], paths[1]["w"], rtol=1e-6, atol=1e-7)
  # After 3 steps, momentum has changed the path from plain SGD's (and only then).
  assert np.allclose(paths[0]["w"], paths[2]["w"], rtol=1e-6, atol=1e-7) == (momentum == 0)


def test_build_optimizer_returns_the_schedule_it_uses():
  optim = _optim(learning_rate=1.0, momentum=0.0, schedule="exponential", decay_factor=0.5)
  tx, schedule = build_optimizer(optim, 2)
  assert _lrs(schedule, [0, 2, 4]) == [1.0, 0.5, 0.25]
  params = {"w": jnp.zeros(1)}
  state = tx.init(params)
  grads = {"w": jnp.ones(1)}
  moved = []
  for _ in range(5):
    updates, state = tx.update(grads, state, params)
    moved.append(float(-updates["w"][0]))
  assert moved == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_unknown_optimizer_raises_naming_the_field():
  with pytest.raises(ConfigError, match=r"optim\.name='lion'.*sgd"):
    build_optimizer(_optim(name="lion"), STEPS_PER_EPOCH)
