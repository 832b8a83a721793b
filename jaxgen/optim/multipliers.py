"""Layer-wise learning-rate multipliers (Carbonnelle & De Vleeschouwer, arXiv 1806.01603).

A multiplier is given to every parameter either by the paper's single knob α (a geometric
profile over the kernel layers, from input to output) or by `(regex, multiplier)` rules over
"/"-joined parameter paths. `multiplier_tree` returns the per-leaf values;
`layerwise_multipliers` is the optax transform that scales each leaf's update by them.

For plain SGD the multiplier scales the step. For Layca it must scale the layer's rate ρ_l
instead (Layca normalises the step, so a multiplier applied before it would be lost): pass
the multipliers to `jaxgen.optim.scale_by_layca(multipliers=...)`.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax

from jaxgen.config.errors import ConfigError
from jaxgen.path_rules import KERNEL_RULE, layer_paths, map_with_path, resolve_rules

PyTree = optax.Params
Rules = Sequence[tuple[str, float]]


def alpha_multipliers(num_layers: int, alpha: float) -> list[float]:
  """The paper's α-parametrised multipliers, from the first (input) layer to the last.

  α > 0 slows the first layers: mult_l = (1−α)^{5(L−1−l)/(L−1)}, so the last layer gets 1 and
  the first (1−α)^5. α ≤ 0 slows the last layers: mult_l = (1+α)^{5l/(L−1)}, so the first
  layer gets 1 and the last (1+α)^5. α = 0 gives all ones.

  Args:
    num_layers: L, the number of kernel layers (ResNet shortcut convs included).
    alpha: the knob α, in (−1, 1).

  Returns:
    L multipliers, input layer first.
  """
  if num_layers < 1:
    raise ConfigError(f"alpha_multipliers: num_layers must be >= 1, got {num_layers}")
  if not -1.0 < alpha < 1.0:
    raise ConfigError(f"config.optim.alpha={alpha} must lie in (-1, 1)")
  if num_layers == 1:
    return [1.0]
  last = num_layers - 1
  if alpha > 0:
    return [(1.0 - alpha) ** (5.0 * (last - i) / last) for i in range(num_layers)]
  return [(1.0 + alpha) ** (5.0 * i / last) for i in range(num_layers)]


def _module(path: str) -> str:
  """The module prefix of a parameter path: "Block_0/Conv_1/kernel" -> "Block_0/Conv_1"."""
  return path.rpartition("/")[0]


def multiplier_tree(
    params: PyTree,
    alpha: float | None = None,
    rules: Rules | None = None,
    layer_rule: str = KERNEL_RULE,
) -> PyTree:
  """The learning-rate multiplier of every leaf, as a pytree of Python floats.

  Only the tree's structure is read, so `params` may also be an update or abstract tree, and
  this works under `jax.jit`.

  Args:
    params: the parameter tree (or any tree with the same structure and paths).
    alpha: the paper's α. Layers are the leaves matching `layer_rule`, in network order; a
      layer's multiplier applies to every parameter of the same module (the paper matches the
      Keras name prefix "layername/"), so "Dense_1/bias" gets the multiplier of
      "Dense_1/kernel". Leaves of modules without a kernel (e.g. BatchNorm) get 1.
    rules: `(regex, multiplier)` pairs over "/"-joined paths; the first full match wins and
      every parameter must be matched (add a catch-all `(".*", 1.0)`).
    layer_rule: regex selecting the layer kernels when `alpha` is given.

  Returns:
    A pytree like `params` holding floats; all ones when neither `alpha` nor `rules` is set.
  """
  if alpha is not None and rules is not None:
    raise ConfigError("config.optim: set either alpha or multiplier_rules, not both")
  if rules is not None:
    return resolve_rules(params, rules, field="optim.multiplier_rules")
  if alpha is None:
    return jax.tree.map(lambda _: 1.0, params)
  layers = layer_paths(params, layer_rule)
  if not layers:
    raise ConfigError(f"config.optim.alpha: no parameter matches the layer rule {layer_rule!r}")
  by_module = dict(zip(map(_module, layers), alpha_multipliers(len(layers), alpha), strict=True))
  if len(by_module) != len(layers):
    raise ConfigError(f"config.optim.alpha: several layer kernels share a module in {layers}")
  return map_with_path(lambda path, _: by_module.get(_module(path), 1.0), params)


def layerwise_multipliers(
    alpha: float | None = None,
    rules: Rules | None = None,
    layer_rule: str = KERNEL_RULE,
) -> optax.GradientTransformation:
  """Scales each leaf's update by its multiplier from `multiplier_tree`.

  Place it after the base optimizer, e.g. `optax.chain(optax.sgd(lr), layerwise_multipliers(
  alpha=0.4))`, so that layer l takes steps of size lr·mult_l. Do not put it in front of
  Layca (Layca discards the step's magnitude); give Layca the multipliers directly instead.

  Args:
    alpha: the paper's α (see `alpha_multipliers`).
    rules: `(regex, multiplier)` pairs; every parameter must be matched.
    layer_rule: regex selecting the layer kernels when `alpha` is given.

  Returns:
    A stateless `optax.GradientTransformation`.
  """

  def update_fn(updates, state, params=None):
    del params
    # The update tree has the parameters' paths, so the multipliers can be read off it.
    mults = multiplier_tree(updates, alpha=alpha, rules=rules, layer_rule=layer_rule)
    updates = jax.tree.map(lambda u, m: u * jnp.asarray(m, u.dtype), updates, mults)
    return updates, state

  return optax.GradientTransformation(optax.init_empty_state, update_fn)

