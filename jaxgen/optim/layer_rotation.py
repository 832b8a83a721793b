"""Layca: layer-level control of the rotation rate (Carbonnelle & De Vleeschouwer, 1806.01603).

Layca takes any base optimizer's step for a layer's kernel, keeps only its direction
orthogonal to the kernel, and rotates the kernel by exactly arctan(ρ_l) per step while its
norm stays at its initial value. This module holds the transform (`scale_by_layca`), the public
optimizer (`layca`) and the conversion used to copy an adaptive method's per-step rotations
(`rotation_to_rate`); the Keras semantics of the base steps and the paper's non-Layca
baselines are in `jaxgen.optim.keras`.

Sign and learning-rate convention: `scale_by_layca` receives the base step in optax sign
convention and with the learning rate already applied, i.e. the update u that plain training
would add to the parameters (u = −s in the paper's notation, where s points uphill). `layca`
builds such base steps with the Keras semantics of the original code.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxgen.config.errors import ConfigError
from jaxgen.optim.keras import KERAS_EPSILON, keras_base_step
from jaxgen.path_rules import KERNEL_RULE, layer_paths, map_with_path

PyTree = Any
Multipliers = PyTree | Callable[[PyTree], PyTree] | None



class LaycaState(NamedTuple):
  """Step counter for the learning-rate schedule and the recorded rates."""

  count: jax.Array  # shape=(), dtype=int32


def _safe(x: jax.Array, ok: jax.Array) -> jax.Array:
  """`x` where it is a valid denominator, 1 elsewhere (so the unused branch stays finite)."""
  return jnp.where(ok, x, jnp.ones_like(x))


def _layca_leaf(update: jax.Array, param: jax.Array, rate: jax.Array, eps: float) -> jax.Array:
  """One layer's Layca update: steps 1-4 of the paper, returned as p_new − p."""
  step = -update  # The paper's s points uphill.
  p_sq = jnp.sum(param * param)
  p_norm = jnp.sqrt(p_sq)
  # 1. Tangent-space projection (a zero kernel has no tangent space: keep the step as is).
  coef = jnp.where(p_sq > 0, jnp.sum(step * param) / _safe(p_sq, p_sq > 0), 0.0)
  step = step - coef * param
  # 2. Normalise the step to the kernel's norm; a vanishing step means no move at all.
  s_norm = jnp.sqrt(jnp.sum(step * step))
  moves = s_norm > eps
  step = step * (p_norm / _safe(s_norm, moves))
  # 3. Step, then 4. recover the pre-step norm.
  new = param - rate.astype(param.dtype) * step
  new_norm = jnp.sqrt(jnp.sum(new * new))
  new = jnp.where(new_norm > 0, new * (p_norm / _safe(new_norm, new_norm > 0)), new)
  return jnp.where(moves, new - param, jnp.zeros_like(param))


def scale_by_layca(
    learning_rate: optax.ScalarOrSchedule,
    layer_rule: str = KERNEL_RULE,
    eps: float = KERAS_EPSILON,
    *,
    multipliers: Multipliers = None,
    recorded_rates: jax.typing.ArrayLike | None = None,
    train_non_layers: bool = False,
) -> optax.GradientTransformation:
  """Turns a base optimizer's step into a Layca rotation of every layer kernel.

  For a leaf whose path matches `layer_rule` with kernel p and incoming update u (= −s):
  s is projected onto the tangent space of p, rescaled to ‖p‖ (or zeroed if its norm is
  <= eps), p' = p − ρ_l·s is renormalised to ‖p‖, and p' − p is returned. Each step therefore
  rotates the kernel by arctan(ρ_l) and keeps its norm. The layer's rate is

    ρ_l(t) = learning_rate(t) · multiplier_l · recorded_rates[t, l]

  where a factor that is not given is 1 and t counts this transform's updates from 0.

  Args:
    learning_rate: ρ, a float or an optax schedule of the step count.
    layer_rule: regex over "/"-joined paths selecting the layer kernels.
    eps: steps with a tangent norm <= eps are dropped (Keras epsilon in the original code).
    multipliers: per-leaf rate multipliers: a pytree like the params (e.g. from
      `jaxgen.optim.multipliers.multiplier_tree`) or a callable `params -> pytree`. They scale
      ρ inside Layca, since a multiplier applied to the step before Layca would be normalised
      away.
    recorded_rates: array of shape (steps, num_layers) with per-step per-layer rates, columns
      in `layer_paths(params, layer_rule)` order; used to copy an adaptive method's rotations
      (see `rotation_to_rate`; pass `learning_rate=1.0`). Steps past the end reuse the last row.
    train_non_layers: the original code freezes every non-layer parameter (zero update). If
      True, those leaves instead receive the base update unchanged (it already carries the
      base learning rate) times their multiplier.

  Returns:
    An `optax.GradientTransformation` with `LaycaState`; `update` requires `params`.
  """
  rates = None if recorded_rates is None else jnp.asarray(recorded_rates, jnp.float32)
  if rates is not None and rates.ndim != 2:
    raise ConfigError(f"recorded_rates must have shape (steps, num_layers), got {rates.shape}")

  def init_fn(params):
    del params
    return LaycaState(count=jnp.zeros([], jnp.int32))

  def update_fn(updates, state, params=None):
    if params is None:
      # Layca acts on the kernels themselves, so it cannot work from the updates alone.
      raise ValueError("scale_by_layca needs the current parameters: call "
                       "update(updates, state, params) with params.")
    rho = jnp.asarray(learning_rate(state.count) if callable(learning_rate) else learning_rate)
    if multipliers is None:
      mults = jax.tree.map(lambda _: 1.0, params)
    else:
      mults = multipliers(params) if callable(multipliers) else multipliers
    column = {path: i for i, path in enumerate(layer_paths(params, layer_rule))}
    row = None
    if rates is not None:
      if rates.shape[1] != len(column):
        raise ConfigError(f"recorded_rates has {rates.shape[1]} columns but {len(column)} "
                          f"parameters match the layer rule {layer_rule!r}")
      row = rates[jnp.minimum(state.count, rates.shape[0] - 1)]

    def leaf(path, update, param, mult):
      if path in column:
        rate = rho * mult if row is None else rho * mult * row[column[path]]
        return _layca_leaf(update, param, rate, eps)
      if train_non_layers:
        return update * jnp.asarray(mult, update.dtype)
      return jnp.zeros_like(update)

    updates = map_with_path(leaf, updates, params, mults)
    return updates, LaycaState(count=optax.safe_increment(state.count))

  return optax.GradientTransformation(init_fn, update_fn)


def rotation_to_rate(cosine_distance: jax.typing.ArrayLike,
                     eps: float = KERAS_EPSILON) -> jax.Array:
  """The Layca rate whose step produces a given per-step cosine distance.

  A step rotating by θ has d = 1 − cos θ, so the rate is tan θ = √(1/(1−d)² − 1), computed as
  √(d(2−d))/(1−d) to avoid cancellation for small d. d is clipped to [0, 1−eps]: rounding
  below 0 gives 0, and d >= 1 (a quarter turn or more, out of reach of one Layca step) gives a
  large finite rate of about 1/eps.

  Args:
    cosine_distance: recorded per-step cosine distances, any shape.
    eps: keeps the rate finite as d approaches 1.

  Returns:
    Rates of the same shape, >= 0.
  """
  d = jnp.clip(jnp.asarray(cosine_distance, jnp.float32), 0.0, 1.0 - eps)
  return jnp.sqrt(d * (2.0 - d)) / (1.0 - d)


def layca(
    base: str,
    learning_rate: optax.ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    *,
    layer_rule: str = KERNEL_RULE,
    train_non_layers: bool = False,
    multipliers: Multipliers = None,
    recorded_rates: jax.typing.ArrayLike | None = None,
    b1: float = 0.9,
    b2: float = 0.999,
    rms_decay: float = 0.9,
    eps: float = KERAS_EPSILON,
) -> optax.GradientTransformation:
  """A base optimizer + Layca, as `optax.chain(<base step>, scale_by_layca(...))`.

  Every layer kernel rotates by arctan(ρ_l) per step in the direction the base optimizer
  chose; non-layer parameters stay frozen (as in the original code) unless
  `train_non_layers`. The base step follows the Keras optimizers of the original code:

  - "sgd": v = μ·m − ρ·g (μ defaults to 0), optionally Nesterov.
  - "sgd_amom": v = μ·m − (1−μ)·g with μ = 0.9, then times ρ.
  - "adam": Keras Adam, β = (0.9, 0.999), eps 1e-7 outside the bias correction.
  - "rmsprop": decay 0.9, eps 1e-7 outside the square root.
  - "adagrad": zero initial accumulator, eps 1e-7 outside the square root.

  With momentum, the velocity accumulates the base rate ρ(t), not ρ_l(t). Constant per-layer
  multipliers only rescale a layer's whole velocity, which Layca discards, so this is exact for
  them; with `recorded_rates` it is exact for μ = 0, the setting of the paper's rate copying.

  Args:
    base: one of `BASES`.
    learning_rate: ρ, a float or schedule; used by both the base step and Layca.
    momentum: μ for "sgd" (default 0) and "sgd_amom" (default 0.9).
    nesterov: Nesterov momentum for "sgd".
    layer_rule: regex selecting the layer kernels.
    train_non_layers: update non-layer parameters with the plain base step instead of
      freezing them.
    multipliers: per-leaf multipliers of ρ (pytree or `params -> pytree`), see
      `scale_by_layca`.
    recorded_rates: (steps, num_layers) per-step rates, see `scale_by_layca`.
    b1: Adam's first-moment decay.
    b2: Adam's second-moment decay.
    rms_decay: RMSprop's decay.
    eps: Keras epsilon, for the adaptive bases and Layca's step threshold.

  Returns:
    An `optax.GradientTransformation`; its `update` requires `params`.

  Example:
    >>> from jaxgen.optim.multipliers import multiplier_tree
    >>> tx = layca("sgd", 3.0**-3, multipliers=lambda p: multiplier_tree(p, alpha=0.2))
    >>> state = tx.init(params)
    >>> updates, state = tx.update(grads, state, params)
    >>> params = optax.apply_updates(params, updates)

  References:
    Carbonnelle & De Vleeschouwer, "Layer rotation: a surprisingly simple indicator of
    generalization in deep networks?", arXiv:1806.01603.
  """
  return optax.chain(
      keras_base_step(base, learning_rate, momentum, nesterov, b1=b1, b2=b2,
                      rms_decay=rms_decay, eps=eps),
      scale_by_layca(learning_rate, layer_rule, eps, multipliers=multipliers,
                     recorded_rates=recorded_rates, train_non_layers=train_non_layers))
