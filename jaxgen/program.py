"""The jitted functions of a run: `build_program` binds the static parts of each step once.

Each function is vmapped over the leading seed axis of the state and jitted once per run, so
a test can check that every one of them compiled once (`Program.<name>._cache_size()`).
"""

import functools
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxgen import sharding, steps
from jaxgen.data.augment import prepare_inputs
from jaxgen.metrics import references
from jaxgen.train_state import init_state


class Program(NamedTuple):
  """A run's jitted functions, each over states stacked along a leading seed axis.

  Attributes:
    init: seeds (S,) int32 -> TrainState, holding only the reference snapshots that the
      configured metrics declare.
    train_step: (state, train images, train labels) -> state; donates the state.
    eval_step: (state, images, labels, mask) -> {"loss", "accuracy", "top{k}_accuracy"},
      each (S,), over a whole padded split.
    measure_step: state -> (state, {"loss", "accuracy", "<metric>/<layer>"}); closes a
      logging interval and donates the state.
  """

  init: jax.stages.Wrapped
  train_step: jax.stages.Wrapped
  eval_step: jax.stages.Wrapped
  measure_step: jax.stages.Wrapped


def build_program(config: ml_collections.ConfigDict, model: nn.Module,
                  tx: optax.GradientTransformation, mesh: jax.sharding.Mesh,
                  sample_images: np.ndarray) -> Program:
  """The run's jitted functions, each vmapped over the leading seed axis of the state.

  Args:
    config: the run config (bound statically into every step).
    model: the flax module.
    tx: the optimizer.
    mesh: the (seeds, data) device mesh.
    sample_images: one raw training image batch, to give init the model's input shape.

  Returns:
    The Program; its states live on `sharding.seed_sharding(mesh)`.
  """
  state_sharding = sharding.seed_sharding(mesh)
  sample_input = prepare_inputs(jnp.asarray(sample_images), None, False, config.data,
                                config.augment)
  init = jax.vmap(functools.partial(init_state, model=model, tx=tx, sample_input=sample_input,
                                    references=references(config.metrics.names)))
  batch_sharding = sharding.batch_sharding(mesh)
  train_step = functools.partial(steps.train_step, model=model, tx=tx, config=config,
                                 batch_sharding=batch_sharding)
  eval_step = functools.partial(steps.eval_step, model=model, config=config,
                                batch_sharding=batch_sharding)
  measure_step = functools.partial(steps.measure_step, config=config)
  return Program(
      init=jax.jit(init, out_shardings=state_sharding),
      train_step=jax.jit(
          jax.vmap(train_step, in_axes=(0, None, None), spmd_axis_name="seeds"),
          donate_argnums=0, out_shardings=state_sharding),
      eval_step=jax.jit(
          jax.vmap(eval_step, in_axes=(0, None, None, None), spmd_axis_name="seeds")),
      measure_step=jax.jit(
          jax.vmap(measure_step, spmd_axis_name="seeds"), donate_argnums=0,
          out_shardings=(state_sharding, sharding.replicated(mesh))),
  )

