"""The training state of one seed; a run stacks S of them along a leading seed axis."""

from collections.abc import Collection
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax import struct

PyTree = Any

# Streams derived from a seed's key with fold_in, so each has its own independent draws.
INIT_STREAM, DATA_STREAM, STEP_STREAM, GRADIENT_NOISE_STREAM = 0, 1, 2, 3

# The field holding each reference snapshot that a metric may compare with (see
# `jaxgen.metrics.references`).
REFERENCE_FIELDS = {"initial": "initial_params", "previous": "previous_params"}


class TrainState(struct.PyTreeNode):
  """Everything that evolves during training, checkpointed as one pytree.

  Attributes:
    step: optimizer steps taken by this seed.
    params: the model parameters.
    batch_stats: BatchNorm running statistics (empty dict when the model has none).
    opt_state: the optax state.
    initial_params: parameters at step 0, the reference of layer rotation; None (no leaves,
      no memory) when no configured metric compares with them.
    previous_params: parameters at the previous logging event, the reference of relative
      weight change; None when no configured metric compares with them.
    rng: the seed's base PRNG key (legacy uint32 layout, so it checkpoints as a plain array).
    active: False once a stopping rule froze this seed; a frozen seed's state stops changing,
      so a seed of a multi-seed run stays identical to the same seed run alone.
    train_sums: loss sum, correct count and example count since the last logging event.
  """

  step: jax.Array
  params: PyTree
  batch_stats: PyTree
  opt_state: optax.OptState
  initial_params: PyTree | None
  previous_params: PyTree | None
  rng: jax.Array
  active: jax.Array
  train_sums: dict[str, jax.Array]


def zero_sums() -> dict[str, jax.Array]:
  return {"loss": jnp.zeros((), jnp.float32), "correct": jnp.zeros((), jnp.float32),
          "count": jnp.zeros((), jnp.float32)}


def init_state(seed: jax.Array, model: nn.Module, tx: optax.GradientTransformation,
               sample_input: jnp.ndarray, references: Collection[str] = ()) -> TrainState:
  """Initialises one seed's state; vmapped over seeds by the trainer.

  Args:
    seed: an integer scalar; keys for init, data order and per-step noise derive from it.
    model: the flax module.
    tx: the optimizer.
    sample_input: a batch with the model's input shape (its values are unused).
    references: the reference snapshots to keep ("initial", "previous"), as given by
      `jaxgen.metrics.references(config.metrics.names)`; the others are None.

  Returns:
    The state at step 0.
  """
  rng = jax.random.PRNGKey(seed)
  init_key = jax.random.fold_in(rng, INIT_STREAM)
  variables = model.init({"params": init_key, "dropout": init_key}, sample_input, train=False)
  params = variables["params"]
  return TrainState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      batch_stats=variables.get("batch_stats", {}),
      opt_state=tx.init(params),
      initial_params=params if "initial" in references else None,
      previous_params=params if "previous" in references else None,
      rng=rng,
      active=jnp.ones((), bool),
      train_sums=zero_sums(),
  )
