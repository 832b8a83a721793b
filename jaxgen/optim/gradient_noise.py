"""Gradient noise: an explicit stand-in for the GPU non-determinism that breaks symmetric inits.

In PyTorch on GPUs, non-deterministic atomic-add reductions in the conv backward perturb the
gradients slightly, which is what breaks the symmetry of a ConstNet init in Blumenfeld et al.
XLA's reductions are deterministic, so a symmetric network stays exactly symmetric unless the
perturbation is made explicit (or dropout breaks it).
"""

from typing import Any

import jax
import optax

PyTree = Any


def add_noise(updates: PyTree, key: jax.Array, std: float) -> PyTree:
  """Adds i.i.d. N(0, std²) noise to every entry of `updates` (one key per leaf)."""
  leaves, treedef = jax.tree.flatten(updates)
  keys = jax.random.split(key, len(leaves))
  return jax.tree.unflatten(treedef, [
      leaf + std * jax.random.normal(k, leaf.shape, leaf.dtype)
      for leaf, k in zip(leaves, keys, strict=True)])


def add_gradient_noise(std: float) -> optax.GradientTransformationExtraArgs:
  """An optax transform adding i.i.d. N(0, std²) noise to every gradient entry.

  Its `update` takes the step's key as the extra argument `noise_key` (passed through
  `optax.chain`), so that each seed's noise is a pure function of its own key and step and a
  resumed run draws the same noise as an uninterrupted one. Put it first in the chain: the
  noise stands for an error in the gradient itself.

  Args:
    std: the noise's standard deviation.

  Returns:
    A stateless `optax.GradientTransformationExtraArgs`.
  """

  def update_fn(updates, state, params=None, *, noise_key: jax.Array, **extra_args):
    del params, extra_args
    return add_noise(updates, noise_key, std), state

  return optax.GradientTransformationExtraArgs(optax.init_empty_state, update_fn)

