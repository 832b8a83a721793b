"""The Keras 2.1 optimizer semantics of the layer-rotation code, and its non-Layca baselines.

The original experiments ran Keras 2.1 optimizers; they differ from optax's where Keras does:
the learning rate enters the SGD velocity, and the adaptive methods add eps outside the square
root and (Adam) outside the bias correction. `keras_base_step` is such a base step (Layca
chains itself after it); `sgd_normalized` and Keras L2 regularisation are the paper's other
baselines.
"""

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxgen.config.errors import ConfigError
from jaxgen.path_rules import KERNEL_RULE, mask

PyTree = Any

BASES = ("sgd", "sgd_amom", "adam", "rmsprop", "adagrad")
KERAS_EPSILON = 1e-7


class _KerasAdamState(NamedTuple):
  count: jax.Array
  mu: PyTree
  nu: PyTree


def _scale_by_keras_adam(b1: float, b2: float, eps: float) -> optax.GradientTransformation:
  """Keras 2.1 Adam direction: √(1−b2ᵗ)/(1−b1ᵗ)·m/(√v + eps), eps outside the correction."""

  def init_fn(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return _KerasAdamState(jnp.zeros([], jnp.int32), zeros, zeros)

  def update_fn(updates, state, params=None):
    del params
    count = optax.safe_increment(state.count)
    mu = jax.tree.map(lambda g, m: b1 * m + (1 - b1) * g, updates, state.mu)
    nu = jax.tree.map(lambda g, v: b2 * v + (1 - b2) * g * g, updates, state.nu)
    # 1 − βᵗ as −expm1(t·log β), with log β in float64: 1 − 0.999 loses 4 digits in float32.
    t = count.astype(jnp.float32)
    corr = jnp.sqrt(-jnp.expm1(t * math.log(b2))) / -jnp.expm1(t * math.log(b1))
    updates = jax.tree.map(lambda m, v: corr * m / (jnp.sqrt(v) + eps), mu, nu)
    return updates, _KerasAdamState(count, mu, nu)

  return optax.GradientTransformation(init_fn, update_fn)


class _KerasAdagradState(NamedTuple):
  sum_of_squares: PyTree


def _scale_by_keras_adagrad(eps: float) -> optax.GradientTransformation:
  """Keras 2.1 Adagrad direction: g/(√Σg² + eps) from a zero accumulator.

  optax's scale_by_rss puts eps inside the square root, which changes small-gradient steps.
  """

  def init_fn(params):
    return _KerasAdagradState(jax.tree.map(jnp.zeros_like, params))

  def update_fn(updates, state, params=None):
    del params
    acc = jax.tree.map(lambda g, a: a + g * g, updates, state.sum_of_squares)
    updates = jax.tree.map(lambda g, a: g / (jnp.sqrt(a) + eps), updates, acc)
    return updates, _KerasAdagradState(acc)

  return optax.GradientTransformation(init_fn, update_fn)


def keras_base_step(
    base: str,
    learning_rate: optax.ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    *,
    b1: float = 0.9,
    b2: float = 0.999,
    rms_decay: float = 0.9,
    eps: float = KERAS_EPSILON,
) -> optax.GradientTransformation:
  """A base optimizer's step as Keras 2.1 computes it, lr included, in optax sign.

  Alone it is the paper's plain (non-Layca) baseline; `layca` chains Layca after it. It
  differs from optax's optimizers where Keras does: the rate enters the SGD velocity, and the
  adaptive methods add eps outside the square root and (Adam) outside the bias correction.

  Args:
    base: one of `BASES` (see `layca` for each one's update).
    learning_rate: ρ, a float or schedule.
    momentum: μ for "sgd" (default 0) and "sgd_amom" (default 0.9); must be unset or 0 for
      the adaptive bases.
    nesterov: Nesterov momentum, "sgd" only.
    b1: Adam's first-moment decay.
    b2: Adam's second-moment decay.
    rms_decay: RMSprop's decay.
    eps: Keras epsilon of the adaptive bases.

  Returns:
    An `optax.GradientTransformation` whose updates are added to the parameters.
  """
  if base not in BASES:
    raise ConfigError(f"config.optim.base={base!r} is not a known Layca base optimizer; "
                      f"valid choices: {', '.join(BASES)}")
  if momentum and base not in ("sgd", "sgd_amom"):
    raise ConfigError(f"config.optim.momentum only applies to sgd and sgd_amom, not {base!r}")
  if nesterov and base != "sgd":
    raise ConfigError(f"config.optim.nesterov only applies to sgd, not {base!r}")
  lr = optax.scale_by_learning_rate(learning_rate)
  if base == "sgd":
    # Keras: v = μ·m − ρ·g (the rate enters the velocity), Nesterov step μ·v − ρ·g.
    if not momentum:
      return lr
    return optax.chain(lr, optax.trace(decay=momentum, nesterov=nesterov))
  if base == "sgd_amom":
    # "Adam-like momentum": v = μ·m − (1−μ)·g, then times ρ.
    return optax.chain(optax.ema(decay=0.9 if momentum is None else momentum, debias=False), lr)
  if base == "adam":
    return optax.chain(_scale_by_keras_adam(b1, b2, eps), lr)
  if base == "rmsprop":
    return optax.chain(optax.scale_by_rms(decay=rms_decay, eps=eps, eps_in_sqrt=False), lr)
  return optax.chain(_scale_by_keras_adagrad(eps), lr)


def sgd_normalized(learning_rate: optax.ScalarOrSchedule,
                   eps: float = KERAS_EPSILON) -> optax.GradientTransformation:
  """The paper's SGD_normalized baseline: p ← p − lr·g/‖g‖ per tensor, no projection.

  Every parameter tensor moves by exactly lr (in L2 norm) per step; a gradient with norm
  <= eps gives no step.

  Args:
    learning_rate: lr, a float or schedule.
    eps: norm below which a tensor's step is dropped.

  Returns:
    A stateless-but-for-the-schedule `optax.GradientTransformation`.
  """

  def normalize(updates, state, params=None):
    del params

    def unit(g):
      norm = jnp.sqrt(jnp.sum(g * g))
      big = norm > eps
      return jnp.where(big, g / jnp.where(big, norm, 1.0), jnp.zeros_like(g))

    return jax.tree.map(unit, updates), state

  return optax.chain(optax.GradientTransformation(optax.init_empty_state, normalize),
                     optax.scale_by_learning_rate(learning_rate))


def keras_l2_to_decoupled(l2: float) -> float:
  """The optax/PyTorch weight decay equal to Keras `l2(λ)`: λ·Σw² has gradient 2λ·w."""
  return 2.0 * l2


def add_keras_l2(l2: float, layer_rule: str | None = KERNEL_RULE) -> optax.GradientTransformation:
  """Adds the gradient of Keras `kernel_regularizer=l2(λ)`, i.e. 2λ·w, to the gradient.

  Put it first in the chain (before the base optimizer) so that, as a loss term in Keras,
  it is seen by momentum and adaptive scaling: `optax.chain(add_keras_l2(λ), optax.sgd(lr))`.

  Args:
    l2: Keras's λ.
    layer_rule: regex of the regularised leaves (the paper regularises kernels only); None
      regularises every parameter.

  Returns:
    `optax.add_decayed_weights(2λ)` restricted to the matching leaves.
  """
  leaves = None if layer_rule is None else (lambda params: mask(params, layer_rule))
  return optax.add_decayed_weights(keras_l2_to_decoupled(l2), mask=leaves)
