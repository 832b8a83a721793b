"""Layer rotation (Carbonnelle & De Vleeschouwer): cosine distances of each layer's kernel to
a reference (its initial value, or its value at the previous measurement).

Pure functions `(params, reference_params) -> {"<module path>/kernel": value}` over the layers
selected by a path rule (conv and dense kernels by default), in network order; they run
inside jit during training and offline on checkpoints alike.
"""

import jax.numpy as jnp

from jaxgen import path_rules

PyTree = path_rules.PyTree


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
  reference = path_rules.layers(init_params, layer_rule)
  result = {}
  for path, w in path_rules.layers(params, layer_rule).items():
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
  reference = path_rules.layers(prev_params, layer_rule)
  result = {}
  for path, w in path_rules.layers(params, layer_rule).items():
    w, w_prev = w.ravel(), reference[path].ravel()
    norm, norm_prev = jnp.linalg.norm(w), jnp.linalg.norm(w_prev)
    ok = (norm > 0) & (norm_prev > 0)
    diff = w / jnp.where(ok, norm, 1.0) - w_prev / jnp.where(ok, norm_prev, 1.0)
    result[path] = jnp.where(ok, 0.5 * jnp.sum(diff * diff), 0.0)
  return result
