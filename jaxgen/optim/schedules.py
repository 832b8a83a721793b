"""Learning-rate schedules in units of epochs (`config.optim.schedule`), as optax schedules.

Every schedule is a builder `fn(learning_rate, steps_per_epoch, **settings)` whose settings are
typed keyword arguments fed by name from `config.optim`; a linear warm-up
(`optim.warmup_epochs`, `optim.warmup_start_factor`) multiplies any of them.
"""

from collections.abc import Sequence

import jax.numpy as jnp
import optax

from jaxgen.config.errors import ConfigError
from jaxgen.registry import Registry

SCHEDULES: Registry = Registry("schedule", field="optim.schedule",
                               runtime_args=("learning_rate", "steps_per_epoch"))


@SCHEDULES.register("constant")
def constant(learning_rate: float, steps_per_epoch: int) -> optax.Schedule:
  """lr at every step."""
  del steps_per_epoch
  return optax.constant_schedule(learning_rate)


@SCHEDULES.register("step")
def step_decay(learning_rate: float, steps_per_epoch: int, milestones: Sequence[int] = (),
               decay_factor: float = 0.1) -> optax.Schedule:
  """lr multiplied by `decay_factor` once each 0-based epoch index reaches a milestone."""
  boundaries = jnp.asarray(sorted(milestones), dtype=jnp.int32)

  def schedule(step):
    epoch = step // steps_per_epoch
    return learning_rate * decay_factor ** jnp.sum(epoch >= boundaries)

  return schedule


@SCHEDULES.register("exponential")
def exponential(learning_rate: float, steps_per_epoch: int,
                decay_factor: float = 0.1) -> optax.Schedule:
  """lr * decay_factor ** epoch, decayed once per epoch (e.g. x0.95 in Zhang et al.)."""
  return lambda step: learning_rate * decay_factor ** (step // steps_per_epoch)


def with_warmup(schedule: optax.Schedule, steps_per_epoch: int, warmup_epochs: int,
                start_factor: float) -> optax.Schedule:
  """Multiplies `schedule` by a linear ramp from `start_factor` to 1.

  Over the first `warmup_epochs` epochs (continuously, per step) this gives
  lr(step) = s(step) * f + s(step) * start * (1 - f) with f = step / warmup_steps: the
  layer-rotation paper's 'continuous' warm-up with start = 0.1.
  """
  if not warmup_epochs:
    return schedule
  warmup_steps = warmup_epochs * steps_per_epoch

  def warmed_up(step):
    fraction = jnp.minimum(step / warmup_steps, 1.0)
    return schedule(step) * (fraction + start_factor * (1.0 - fraction))

  return warmed_up


def build_schedule(optim, steps_per_epoch: int) -> optax.Schedule:
  """The learning-rate schedule of `config.optim` (`optim.schedule` and its settings,
  `optim.learning_rate`), including warm-up."""
  if optim.learning_rate < 0:
    raise ConfigError(f"config.optim.learning_rate={optim.learning_rate} is negative; "
                      "it must be >= 0")
  schedule = SCHEDULES.build(optim.schedule, optim, learning_rate=optim.learning_rate,
                             steps_per_epoch=steps_per_epoch)
  return with_warmup(schedule, steps_per_epoch, optim.warmup_epochs, optim.warmup_start_factor)
