"""Per-layer metrics of parameter pytrees against reference parameters.

Every metric is a pure function `(params, reference_params) -> {"<module path>/kernel": value}`
over the kernel leaves (conv and dense; biases and normalisation parameters excluded), in
network order. They run inside jit during training and offline on checkpoints alike.
"""

import jax.numpy as jnp

from jaxgen import path_rules
from jaxgen.registry import ConfigError

PyTree = path_rules.PyTree

RWC_VARIANTS = ("l1_ratio", "elementwise_mean")


def _kernels(params: PyTree, layer_rule: str) -> dict[str, jnp.ndarray]:
  return {path: leaf for path, leaf in path_rules.flatten(params).items()
          if path_rules.matches(layer_rule, path)}


def layer_rotation(params: PyTree, init_params: PyTree,
                   layer_rule: str = path_rules.KERNEL_RULE) -> dict[str, jnp.ndarray]:
  """Cosine distance 1 - <w, w0> / (|w| |w0|) between each kernel and its initial value.

  Carbonnelle & De Vleeschouwer's layer rotation: 0 for an unrotated layer, 1 for an
  orthogonal one. A zero-norm kernel (e.g. a zero init) has distance 0 by convention.

  Args:
    params: the current parameters.
    init_params: the parameters at initialisation (same structure).
    layer_rule: regex over parameter paths selecting the layers.

  Returns:
    {path: scalar} for every layer, in network order.
  """
  reference = _kernels(init_params, layer_rule)
  result = {}
  for path, w in _kernels(params, layer_rule).items():
    w, w0 = w.ravel(), reference[path].ravel()
    norms = jnp.linalg.norm(w) * jnp.linalg.norm(w0)
    cosine = jnp.where(norms > 0, jnp.dot(w, w0) / jnp.where(norms > 0, norms, 1.0), 1.0)
    result[path] = 1.0 - cosine
  return result


def step_rotation(params: PyTree, prev_params: PyTree,
                  layer_rule: str = path_rules.KERNEL_RULE) -> dict[str, jnp.ndarray]:
  """Cosine distance of each kernel to its value at the previous measurement.

  The layer rotation of one logging interval (one step with `train.log_every_steps=1`), which
  `config.optim.copy_rotation_from` turns into per-step Layca rates. It is computed as
  |u - u_prev|^2 / 2 with u = w / |w|, which equals 1 - cos but keeps its relative precision
  for the tiny angles of a single step, where 1 - cos in float32 cancels to a few digits.

  Args:
    params: the current parameters.
    prev_params: the parameters at the previous measurement (same structure).
    layer_rule: regex over parameter paths selecting the layers.

  Returns:
    {path: scalar} for every layer, in network order; 0 where either kernel has zero norm.
  """
  reference = _kernels(prev_params, layer_rule)
  result = {}
  for path, w in _kernels(params, layer_rule).items():
    w, w_prev = w.ravel(), reference[path].ravel()
    norm, norm_prev = jnp.linalg.norm(w), jnp.linalg.norm(w_prev)
    ok = (norm > 0) & (norm_prev > 0)
    diff = w / jnp.where(ok, norm, 1.0) - w_prev / jnp.where(ok, norm_prev, 1.0)
    result[path] = jnp.where(ok, 0.5 * jnp.sum(diff * diff), 0.0)
  return result


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
  reference = _kernels(prev_params, layer_rule)
  result = {}
  for path, w in _kernels(params, layer_rule).items():
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
