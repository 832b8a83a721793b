"""Relative weight change (Agrawal et al.): how much each layer's kernel moved since the
previous measurement, relative to its size.
"""

import jax.numpy as jnp

from jaxgen import path_rules
from jaxgen.config.errors import ConfigError

PyTree = path_rules.PyTree

RWC_VARIANTS = ("l1_ratio", "elementwise_mean")


def relative_weight_change(params: PyTree, prev_params: PyTree, variant: str = "l1_ratio",
                           layer_rule: str = path_rules.KERNEL_RULE) -> dict[str, jnp.ndarray]:
  """Agrawal et al.'s relative weight change of each kernel since `prev_params`.

  Args:
    params: the current parameters w_t.
    prev_params: the parameters at the previous measurement, w_{t-1}.
    variant: "l1_ratio", the paper's Eq. (1), |w_t - w_{t-1}|_1 / |w_{t-1}|_1 (the default);
      or "elementwise_mean", what the original code computed: the mean over elements of
      |w_t - w_{t-1}| / |w_{t-1}|, taken here over the elements with w_{t-1} != 0 so that
      exact zeros (which made the original inf/NaN) are skipped.
    layer_rule: regex over parameter paths selecting the layers.

  Returns:
    {path: scalar} for every layer, in network order.
  """
  if variant not in RWC_VARIANTS:
    raise ConfigError(f"config.metrics.rwc_variant={variant!r} is not known; "
                      f"valid choices: {', '.join(RWC_VARIANTS)}")
  reference = path_rules.layers(prev_params, layer_rule)
  result = {}
  for path, w in path_rules.layers(params, layer_rule).items():
    w_prev = reference[path]
    change = jnp.abs(w - w_prev)
    if variant == "l1_ratio":
      denominator = jnp.sum(jnp.abs(w_prev))
      result[path] = jnp.where(denominator > 0, jnp.sum(change) / jnp.where(
          denominator > 0, denominator, 1.0), 0.0)
    else:
      nonzero = w_prev != 0
      ratios = jnp.where(nonzero, change / jnp.where(nonzero, jnp.abs(w_prev), 1.0), 0.0)
      result[path] = jnp.sum(ratios) / jnp.maximum(jnp.sum(nonzero), 1)
  return result
