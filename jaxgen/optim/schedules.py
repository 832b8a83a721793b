"""Learning-rate schedules in units of epochs, turned into optax step schedules."""

import jax.numpy as jnp
import ml_collections
import optax

from jaxgen.config import ConfigError
from jaxgen.registry import Registry

SCHEDULES: Registry = Registry("schedule", field="optim.schedule")


@SCHEDULES.register("constant")
def constant(lr: float, steps_per_epoch: int, optim: ml_collections.ConfigDict) -> optax.Schedule:
  """lr at every step."""
  del steps_per_epoch, optim
  return optax.constant_schedule(lr)


@SCHEDULES.register("step")
def step_decay(lr: float, steps_per_epoch: int,
               optim: ml_collections.ConfigDict) -> optax.Schedule:
  """lr multiplied by `decay_factor` once each 0-based epoch index reaches a milestone."""
  milestones = jnp.asarray(sorted(optim.milestones), dtype=jnp.int32)

  def schedule(step):
    epoch = step // steps_per_epoch
    return lr * optim.decay_factor ** jnp.sum(epoch >= milestones)

  return schedule


@SCHEDULES.register("exponential")
def exponential(lr: float, steps_per_epoch: int,
                optim: ml_collections.ConfigDict) -> optax.Schedule:
  """lr * decay_factor ** epoch, decayed once per epoch (e.g. x0.95 in Zhang et al.)."""
  return lambda step: lr * optim.decay_factor ** (step // steps_per_epoch)


def with_warmup(schedule: optax.Schedule, steps_per_epoch: int,
                optim: ml_collections.ConfigDict) -> optax.Schedule:
  """Multiplies `schedule` by a linear ramp from `warmup_start_factor` to 1.

  Over the first `warmup_epochs` epochs (continuously, per step) this gives
  lr(step) = s(step) * f + s(step) * start * (1 - f) with f = step / warmup_steps: the
  layer-rotation paper's 'continuous' warm-up with start = 0.1.
  """
  if not optim.warmup_epochs:
    return schedule
  warmup_steps = optim.warmup_epochs * steps_per_epoch
  start = optim.warmup_start_factor

  def warmed_up(step):
    fraction = jnp.minimum(step / warmup_steps, 1.0)
    return schedule(step) * (fraction + start * (1.0 - fraction))

  return warmed_up


def build_schedule(optim: ml_collections.ConfigDict, steps_per_epoch: int) -> optax.Schedule:
  """The learning-rate schedule of `config.optim`, including warm-up."""
  if optim.learning_rate < 0:
    raise ConfigError(f"config.optim.learning_rate={optim.learning_rate} is negative; "
                      "it must be >= 0")
  schedule = SCHEDULES.get(optim.schedule)(optim.learning_rate, steps_per_epoch, optim)
  return with_warmup(schedule, steps_per_epoch, optim)
