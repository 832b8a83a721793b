"""Mixed precision: the forward and backward pass in a lower compute dtype (bfloat16 on GPUs),
with parameters, batch statistics and optimizer state kept in float32.

`apply_model` casts the parameters and inputs to the compute dtype and, through a flax method
interceptor, the output of every module: without it a layer that casts its own parameters
back to float32 (flax's BatchNorm does, to its `param_dtype`) would carry float32 activations
into every later layer. Inside BatchNorm, statistics are still reduced in float32 (flax's
default), and the gradients come back in float32 through the casts of the parameters.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

COMPUTE_DTYPES = ("float32", "bfloat16")


def _cast(tree, dtype):
  """Floating leaves of `tree` cast to `dtype`; other leaves unchanged."""
  def cast(x):
    floating = isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating)
    return x.astype(dtype) if floating else x
  return jax.tree.map(cast, tree)


def apply_model(model: nn.Module, variables: dict, inputs: jnp.ndarray, compute_dtype: str,
                **kwargs):
  """`model.apply(variables, inputs, **kwargs)` with the computation in `compute_dtype`.

  Args:
    model: the flax module.
    variables: {"params": ..., and other collections such as "batch_stats"}, float32.
    inputs: the model's input batch.
    compute_dtype: one of COMPUTE_DTYPES; "float32" is a plain `model.apply`.
    **kwargs: passed to `model.apply` (train, mutable, rngs, ...).

  Returns:
    What `model.apply` returns; the model's output (e.g. logits) in `compute_dtype`, updated
    collections (batch statistics) in their float32 dtype.
  """
  if compute_dtype == "float32":
    return model.apply(variables, inputs, **kwargs)
  dtype = jnp.dtype(compute_dtype)

  def cast_outputs(next_fun, args, call_kwargs, context):
    del context
    return _cast(next_fun(*args, **call_kwargs), dtype)

  compute_variables = {**variables, "params": _cast(variables["params"], dtype)}
  with nn.intercept_methods(cast_outputs):
    result = model.apply(compute_variables, _cast(inputs, dtype), **kwargs)
  if not kwargs.get("mutable"):
    return result
  output, updates = result
  # Updated collections keep the dtype they were stored in (float32 batch statistics).
  updates = {name: jax.tree.map(lambda new, old: new.astype(old.dtype), value, variables[name])
             if name in variables else value for name, value in updates.items()}
  return output, updates
