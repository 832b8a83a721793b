"""Weight correlations of Blumenfeld, Gilboa & Soudry (feature diversity at initialisation).

For a kernel W, a matrix A is built whose rows are "units"; the measure is the mean Pearson
correlation over all pairs of rows (each row centred over its own entries), with the pair of
a constant row (e.g. an all-zero or averaging kernel) counting as correlation 1, as the
original code's NaN -> 1 does. Three row definitions (PyTorch layout C_out x C_in x kh x kw):

- forward: one row per output channel, its C_in*kh*kw fan-in weights (feature similarity);
- backward: one row per input channel, its C_out*kh*kw fan-out weights (similarity of the
  back-propagated signals);
- kernel: one row per (output, input) pair, its kh*kw taps (1 for dense and 1x1 layers, whose
  rows are then constant: correlation 1).

At a ConstNet init every measure is 1 (no feature diversity; exactly 1 for constant rows, 1
up to float32 rounding for identical non-constant ones); training that breaks the symmetry
lowers them. The values logged are the correlations themselves; the original logged
-log|correlation| per layer, which `-jnp.log(jnp.abs(c))` gives back. The original subsamples
5,000 rows when there are more; so does this, with a fixed key so that a measurement is
reproducible.
"""

import jax
import jax.numpy as jnp

from jaxgen import path_rules

PyTree = path_rules.PyTree
MAX_ROWS = 5000
CORRELATION_KINDS = ("forward", "backward", "kernel")


def mean_pairwise_correlation(rows: jnp.ndarray, max_rows: int = MAX_ROWS,
                              key: jax.Array | None = None) -> jnp.ndarray:
  """Mean Pearson correlation over the pairs of rows of a (units, features) matrix.

  Args:
    rows: (units, features).
    max_rows: if there are more units, a random subset of this many is used.
    key: PRNG key of that subset (default: a fixed key).

  Returns:
    A scalar in [-1, 1]; 1 when every row is constant; NaN when there are fewer than two rows
    (no pair: e.g. the backward measure of a first layer on 1-channel images).
  """
  if rows.shape[0] > max_rows:
    key = jax.random.key(0) if key is None else key
    rows = rows[jax.random.permutation(key, rows.shape[0])[:max_rows]]
  units = rows.shape[0]
  if units < 2:
    return jnp.full((), jnp.nan)
  centred = rows - rows.mean(axis=1, keepdims=True)
  norms = jnp.linalg.norm(centred, axis=1)
  unit = centred / jnp.where(norms > 0, norms, 1.0)[:, None]
  constant = norms == 0
  # float32 products of identical unit rows can exceed 1 by ~1e-6: clip to the true range.
  correlation = jnp.where(constant[:, None] | constant[None, :], 1.0,
                          jnp.clip(unit @ unit.T, -1.0, 1.0))
  below_diagonal = jnp.tril(jnp.ones((units, units), bool), k=-1)
  return jnp.sum(jnp.where(below_diagonal, correlation, 0.0)) / jnp.sum(below_diagonal)


def unit_rows(kernel: jnp.ndarray, kind: str) -> jnp.ndarray:
  """The (units, features) matrix of a flax conv (kh, kw, in, out) or dense (in, out) kernel.

  Raises:
    ValueError: for a kind not in CORRELATION_KINDS.
  """
  # To PyTorch's (out, in, taps) layout; a dense kernel has one tap.
  torch_layout = jnp.moveaxis(kernel.reshape(-1, *kernel.shape[-2:]), 0, -1).transpose(1, 0, 2)
  out_channels, in_channels, taps = torch_layout.shape
  if kind == "forward":
    return torch_layout.reshape(out_channels, in_channels * taps)
  if kind == "backward":
    return torch_layout.transpose(1, 0, 2).reshape(in_channels, out_channels * taps)
  if kind == "kernel":
    return torch_layout.reshape(out_channels * in_channels, taps)
  raise ValueError(f"unknown correlation kind {kind!r}; valid choices: "
                   f"{', '.join(CORRELATION_KINDS)}")


def weight_correlations(params: PyTree, kind: str,
                        layer_rule: str = path_rules.KERNEL_RULE) -> dict[str, jnp.ndarray]:
  """{path: mean pairwise correlation of the kernel's units} for every layer, network order."""
  return {path: mean_pairwise_correlation(unit_rows(kernel, kind))
          for path, kernel in path_rules.flatten(params).items()
          if path_rules.matches(layer_rule, path)}


def diversity_score(backward_correlations: dict[str, jnp.ndarray]) -> jnp.ndarray:
  """The original's "Diversity": Σ over layers of log sqrt(1 - backward²).

  -inf when a layer's backward correlation is 1, as for the constant kernels of a ConstNet
  init; identical but non-constant rows measure 1 only up to float32 rounding, so such a
  layer gives a large negative finite value instead. Layers whose measure is undefined (NaN:
  a single input channel) are left out of the sum.
  """
  return sum(jnp.where(jnp.isnan(c), 0.0, 0.5 * jnp.log1p(-jnp.minimum(jnp.square(c), 1.0)))
             for c in backward_correlations.values())
