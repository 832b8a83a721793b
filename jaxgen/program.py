"""The jitted functions of a run: `build_program` binds the static parts of each step once.

Each function runs over the leading seed axis of the state (vmapped, or for the train and eval
steps one seed after another, as `sharding.seed_strategy` says: see `seed_strategy`) and is
jitted once per run, so a test can check that every one of them compiled once
(`Program.<name>._cache_size()`). The trainer runs all the steps between two events as one
`train_chunk` call: one dispatch of a loop on device, except on CPU, where it dispatches one
`train_step` per step (see `build_program`).
"""

import functools
from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from jaxgen import seed_strategy, sharding, steps
from jaxgen.data.augment import prepare_inputs
from jaxgen.metrics import references
from jaxgen.train_state import TrainState, init_state


class Program(NamedTuple):
  """A run's jitted functions, each over states stacked along a leading seed axis.

  Attributes:
    init: seeds (S,) int32 -> TrainState, holding only the reference snapshots that the
      configured metrics declare.
    epoch_order: (state.rng, epoch) -> (S, N) int32: the order in which each seed visits the
      N training examples in that epoch; computed once per epoch.
    train_step: (state, order, train images, train labels) -> state: one step of a state
      whose seeds are all active; donates the state.
    train_chunk: (state, order, num_steps, train images, train labels) -> state: `num_steps`
      steps, all within the epoch of `order`, of a state whose seeds are all active: what
      the trainer runs between two events. With the loop on device, one jitted dispatch that
      donates the state and compiles once for any `num_steps`; otherwise one `train_step`
      dispatch per step.
    train_step_with_frozen, train_chunk_with_frozen: the same for a state in which a stopping
      rule froze some seeds, whose states they keep unchanged. Compiled only in a run where a
      seed stops before the others.
    eval_step: (state, images, labels, mask) -> {"loss", "accuracy", "top{k}_accuracy"},
      each (S,), over a whole padded split.
    measure_step: state -> (state, {"loss", "accuracy", "<metric>/<layer>"}); closes a
      logging interval and donates the state.
    seed_strategy: how train_step and eval_step run the seeds, "vmap" or "map" (the
      resolved `config.sharding.seed_strategy`).
  """

  init: jax.stages.Wrapped
  epoch_order: jax.stages.Wrapped
  train_step: jax.stages.Wrapped
  train_chunk: Callable[..., TrainState]
  train_step_with_frozen: jax.stages.Wrapped
  train_chunk_with_frozen: Callable[..., TrainState]
  eval_step: jax.stages.Wrapped
  measure_step: jax.stages.Wrapped
  seed_strategy: str = "vmap"


def _loop_on_device(state: TrainState, order: jax.Array, num_steps: jax.Array,
                    images: jax.Array, labels: jax.Array, *, step: Callable[..., TrainState],
                    state_sharding: jax.sharding.Sharding) -> TrainState:
  """`num_steps` applications of the vmapped `step`, looped on device."""
  # A fori_loop with a traced trip count (a while loop) compiles once for every chunk length;
  # lax.scan needs a static length and would compile once per length, and the lengths between
  # events vary (log_every_steps need not divide the epoch; a resume starts mid-interval).

  def body(_, state):
    # Keeps the loop carry in the state's (seeds) layout whatever sharding propagation infers.
    return jax.lax.with_sharding_constraint(step(state, order, images, labels), state_sharding)

  return jax.lax.fori_loop(0, num_steps, body, state)


def _loop_on_host(state: TrainState, order: jax.Array, num_steps: int, images: jax.Array,
                  labels: jax.Array, *, step: jax.stages.Wrapped) -> TrainState:
  """`num_steps` dispatches of the jitted `step`."""
  for _ in range(int(num_steps)):
    state = step(state, order, images, labels)
  return state


def build_program(config: ml_collections.ConfigDict, model: nn.Module,
                  tx: optax.GradientTransformation, mesh: jax.sharding.Mesh,
                  sample_images: np.ndarray, num_train: int,
                  loop_on_device: bool | None = None) -> Program:
  """The run's jitted functions, each vmapped over the leading seed axis of the state.

  Args:
    config: the run config (bound statically into every step).
    model: the flax module.
    tx: the optimizer.
    mesh: the (seeds, data) device mesh.
    sample_images: one raw training image batch, to give init the model's input shape.
    num_train: the number of training examples.
    loop_on_device: whether `train_chunk` loops over its steps on device, in one dispatch;
      None: on every platform but CPU.

  Returns:
    The Program; its states live on `sharding.seed_sharding(mesh)`.
  """
  state_sharding = sharding.seed_sharding(mesh)
  sample_input = prepare_inputs(jnp.asarray(sample_images), None, False, config.data,
                                config.augment)
  init_one = functools.partial(init_state, model=model, tx=tx, sample_input=sample_input,
                               references=references(config.metrics.names))
  init = jax.vmap(init_one)
  platform = mesh.devices.flat[0].platform
  strategy = seed_strategy.resolve(
      config.sharding.seed_strategy, platform,
      seed_strategy.is_convolutional(jax.eval_shape(init_one, jnp.int32(0)).params))
  over_seeds = functools.partial(seed_strategy.over_seeds, strategy=strategy,
                                 seed_groups=mesh.shape["seeds"])
  batch_sharding = sharding.batch_sharding(mesh)
  epoch_order = functools.partial(steps.seed_epoch_order, num_examples=num_train, config=config)
  if loop_on_device is None:
    # XLA:CPU rewrites convolutions into the form its fast (Eigen) kernels take in the
    # top-level computation only (its ConvCanonicalization pass): inside a loop they fall to a
    # naive emitter, 10x slower on the default CNN and not bit-identical to `train_step`.
    loop_on_device = platform != "cpu"

  def step_and_chunk(keep_frozen: bool):
    """The jitted one-step function and the chunk of steps built on it."""
    train_step = over_seeds(
        functools.partial(steps.train_step, model=model, tx=tx, config=config,
                          batch_sharding=batch_sharding, keep_frozen=keep_frozen),
        num_seeded=2)
    jitted_step = jax.jit(train_step, donate_argnums=0, out_shardings=state_sharding)
    if loop_on_device:
      return jitted_step, jax.jit(
          functools.partial(_loop_on_device, step=train_step, state_sharding=state_sharding),
          donate_argnums=0, out_shardings=state_sharding)
    return jitted_step, functools.partial(_loop_on_host, step=jitted_step)

  train_step, train_chunk = step_and_chunk(keep_frozen=False)
  train_step_with_frozen, train_chunk_with_frozen = step_and_chunk(keep_frozen=True)
  eval_step = functools.partial(steps.eval_step, model=model, config=config,
                                batch_sharding=batch_sharding)
  measure_step = functools.partial(steps.measure_step, config=config)
  return Program(
      init=jax.jit(init, out_shardings=state_sharding),
      epoch_order=jax.jit(jax.vmap(epoch_order, in_axes=(0, None)),
                          out_shardings=state_sharding),
      train_step=train_step,
      train_chunk=train_chunk,
      train_step_with_frozen=train_step_with_frozen,
      train_chunk_with_frozen=train_chunk_with_frozen,
      eval_step=jax.jit(over_seeds(eval_step, num_seeded=1)),
      measure_step=jax.jit(
          jax.vmap(measure_step, spmd_axis_name="seeds"), donate_argnums=0,
          out_shardings=(state_sharding, sharding.replicated(mesh))),
      seed_strategy=strategy,
  )
