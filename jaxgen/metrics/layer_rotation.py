"""Layer rotation (Carbonnelle & De Vleeschouwer): cosine distances of each layer's kernel to
a reference (its initial value, or its value at the previous measurement).

Pure functions `(params, reference_params) -> {"<module path>/kernel": value}` over the layers
selected by a path rule (conv and dense kernels by default), in network order; they run
inside jit during training and offline on checkpoints alike.
"""

import jax.numpy as jnp

from jaxgen import path_rules

PyTree = path_rules.PyTree


def cosine_distance(w: jnp.ndarray, w_ref: jnp.ndarray) -> jnp.ndarray:
  """1 - <w, w_ref> / (|w| |w_ref|), accurate in float32 down to tiny angles.

  1 - cos computed directly cancels: in float32 it has a relative error of 1e-3 at a distance
  of 5e-5 and returns 0 below about 1e-8. Here it comes from the difference d = w - w_ref,
  which float32 subtraction gives to a relative 6e-8 per entry, through the identity
  1 - cos = (|d|^2 - (|w| - |w_ref|)^2) / (2 |w| |w_ref|) with
  |w| - |w_ref| = <d, w + w_ref> / (|w| + |w_ref|). That agrees with a float64 computation to
  about 1e-7 relative from 1e-11 to 1 whenever the change is not dominated by a change of norm
  (the regime of training steps and of rotation curves); where it is (|w| changes by much more
  than |w| * angle), the absolute error is about 1e-7 * (relative norm change)^2.

  Args:
    w: a kernel.
    w_ref: the reference kernel, same shape.

  Returns:
    The cosine distance in [0, 2]; 0 where either kernel has zero norm.
  """
  w = w.ravel().astype(jnp.float32)
  w_ref = w_ref.ravel().astype(jnp.float32)
  diff = w - w_ref
  norm, norm_ref = jnp.sqrt(jnp.sum(w * w)), jnp.sqrt(jnp.sum(w_ref * w_ref))
  ok = (norm > 0) & (norm_ref > 0)
  norm_change = jnp.sum(diff * (w + w_ref)) / jnp.where(ok, norm + norm_ref, 1.0)
  distance = (jnp.sum(diff * diff) - norm_change**2) / jnp.where(ok, 2.0 * norm * norm_ref, 1.0)
  return jnp.where(ok, jnp.clip(distance, 0.0, 2.0), 0.0)


def layer_rotation(params: PyTree, init_params: PyTree,
                   layer_rule: str = path_rules.KERNEL_RULE) -> dict[str, jnp.ndarray]:
  """Cosine distance 1 - <w, w0> / (|w| |w0|) between each kernel and its initial value.

  Carbonnelle & De Vleeschouwer's layer rotation: 0 for an unrotated layer, 1 for an
  orthogonal one; computed by `cosine_distance`, accurate for small angles too. A zero-norm
  kernel (e.g. a zero init) has distance 0 by convention.

  Args:
    params: the current parameters.
    init_params: the parameters at initialisation (same structure).
    layer_rule: regex over parameter paths selecting the layers.

  Returns:
    {path: scalar} for every layer, in network order.
  """
  reference = path_rules.layers(init_params, layer_rule)
  return {path: cosine_distance(w, reference[path])
          for path, w in path_rules.layers(params, layer_rule).items()}


def step_rotation(params: PyTree, prev_params: PyTree,
                  layer_rule: str = path_rules.KERNEL_RULE) -> dict[str, jnp.ndarray]:
  """Cosine distance of each kernel to its value at the previous measurement.

  The layer rotation of one logging interval (one step with `train.log_every_steps=1`), which
  `config.optim.copy_rotation_from` turns into per-step Layca rates; `cosine_distance` keeps
  its relative precision for the tiny angles of a single step.

  Args:
    params: the current parameters.
    prev_params: the parameters at the previous measurement (same structure).
    layer_rule: regex over parameter paths selecting the layers.

  Returns:
    {path: scalar} for every layer, in network order; 0 where either kernel has zero norm.
  """
  reference = path_rules.layers(prev_params, layer_rule)
  return {path: cosine_distance(w, reference[path])
          for path, w in path_rules.layers(params, layer_rule).items()}
