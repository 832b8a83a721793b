"""Projection statistics of filters (Gamba et al., "Hyperplane arrangements of trained ConvNets
are biased").

Each filter w_n of a layer (flattened over its input channels and spatial taps, bias ignored)
is the normal of the hyperplane {x : <w_n, x> + b_n = 0}. Its normalised projection on the
all-ones direction, π̂_n = Σ_j w_nj / (|w_n| √d) = cos∠(w_n, 1), is symmetric around 0 at a
random init, so the layer's "mass" (fraction of filters with π̂_n <= 0) is about 0.5 there;
trained layers that are biased move away from 0.5. Following the original code, conv layers
with 1x1 kernels are skipped, and dense layers (rows = neurons) only count on request.
"""

import jax.numpy as jnp

from jaxgen import path_rules

PyTree = path_rules.PyTree
NET = "net"  # Key of the statistics over every layer's filters together.


def _hyperplane_kernels(params: PyTree, layer_rule: str,
                        with_linear: bool) -> dict[str, jnp.ndarray]:
  """The kernels whose filters count, reshaped to (filters, fan-in), in network order."""
  kernels = {}
  for path, kernel in path_rules.flatten(params).items():
    if not path_rules.matches(layer_rule, path):
      continue
    is_conv = kernel.ndim >= 3 and kernel.shape[:-2] != (1,) * (kernel.ndim - 2)
    if is_conv or (with_linear and kernel.ndim == 2):
      # flax kernels end in (..., in, out): filter n is kernel[..., n].
      kernels[path] = kernel.reshape(-1, kernel.shape[-1]).T
  return kernels


def hyperplane_layers(params: PyTree, layer_rule: str = path_rules.KERNEL_RULE,
                      with_linear: bool = False) -> list[str]:
  """The kernel paths the statistics count (convs other than 1x1; dense on request)."""
  return list(_hyperplane_kernels(params, layer_rule, with_linear))


def filter_projections(params: PyTree, layer_rule: str = path_rules.KERNEL_RULE,
                       with_linear: bool = False, normalize: bool = True
                       ) -> dict[str, jnp.ndarray]:
  """Each filter's projection on the all-ones direction, per layer.

  Args:
    params: a parameter pytree.
    layer_rule: regex over parameter paths selecting the layers.
    with_linear: also use dense kernels (the original's `--with-linear`).
    normalize: π̂_n = Σ_j w_nj / (|w_n| √d) in [-1, 1] (the original's `--normalize`, used
      in all its examples); False gives the raw sums Σ_j w_nj. A zero filter gives 0.

  Returns:
    {path: (filters,) projections} for every counted layer, in network order.
  """
  result = {}
  for path, filters in _hyperplane_kernels(params, layer_rule, with_linear).items():
    sums = filters.sum(axis=1)
    if normalize:
      norms = jnp.linalg.norm(filters, axis=1) * jnp.sqrt(filters.shape[1])
      sums = jnp.where(norms > 0, sums / jnp.where(norms > 0, norms, 1.0), 0.0)
    result[path] = sums
  return result


def projection_statistics(projections: dict[str, jnp.ndarray]) -> dict[str, dict[str, jnp.ndarray]]:
  """Mean and mass (fraction <= 0) of the projections of each layer and of the whole net.

  Args:
    projections: the output of `filter_projections`.

  Returns:
    {path or NET: {"mean": scalar, "mass": scalar}}; NET pools every layer's filters.
  """
  groups = dict(projections)
  if projections:
    groups[NET] = jnp.concatenate(list(projections.values()))
  return {key: {"mean": values.mean(), "mass": jnp.mean(values <= 0)}
          for key, values in groups.items()}


def distance_from_init(params: PyTree, init_params: PyTree,
                       layer_rule: str = path_rules.KERNEL_RULE,
                       with_linear: bool = False) -> dict[str, dict[str, jnp.ndarray]]:
  """Relative distances of the counted kernels from their initial values.

  Returns:
    {path: {"l2_dist": |W - W0|_F / |W0|_F, "l_inf_dist": max|W - W0| / max|W0|}}; NaN for a
    kernel that was all zero at init.
  """
  initial = _hyperplane_kernels(init_params, layer_rule, with_linear)
  result = {}
  for path, kernel in _hyperplane_kernels(params, layer_rule, with_linear).items():
    change, w0 = kernel - initial[path], initial[path]
    result[path] = {"l2_dist": _ratio(jnp.linalg.norm(change), jnp.linalg.norm(w0)),
                    "l_inf_dist": _ratio(jnp.abs(change).max(), jnp.abs(w0).max())}
  return result


def _ratio(numerator: jnp.ndarray, denominator: jnp.ndarray) -> jnp.ndarray:
  """numerator / denominator, NaN for a zero initial kernel (e.g. a ConstNet block)."""
  return jnp.where(denominator > 0, numerator / jnp.where(denominator > 0, denominator, 1.0),
                   jnp.nan)


def projection_mass(params: PyTree, layer_rule: str = path_rules.KERNEL_RULE,
                    with_linear: bool = False) -> dict[str, jnp.ndarray]:
  """{path: fraction of the layer's filters with π̂_n <= 0}, for logging during training."""
  stats = projection_statistics(filter_projections(params, layer_rule, with_linear))
  return {path: values["mass"] for path, values in stats.items() if path != NET}


def projection_mean(params: PyTree, layer_rule: str = path_rules.KERNEL_RULE,
                    with_linear: bool = False) -> dict[str, jnp.ndarray]:
  """{path: mean of the layer's normalised projections π̂_n}, for logging during training."""
  stats = projection_statistics(filter_projections(params, layer_rule, with_linear))
  return {path: values["mean"] for path, values in stats.items() if path != NET}
