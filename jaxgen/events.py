"""When a run's events happen: logging events, checkpoints and never-pruned snapshots.

The trainer runs the steps up to `EventSchedule.next_event` in one dispatch, then asks
`is_log_step` / `is_checkpoint_step`, and the checkpoint manager keeps `snapshot_steps()`; all
read the one schedule built from the config, so the cadence of each event is decided in this
module only.
"""

import dataclasses

import ml_collections


def snapshot_epochs(checkpoint: ml_collections.ConfigDict, num_epochs: int) -> list[int]:
  """The epochs whose checkpoints are never pruned (epoch 0 = initialisation).

  Args:
    checkpoint: `config.checkpoint` (snapshot_epochs, snapshot_until_epoch,
      snapshot_every_epochs).
    num_epochs: the run's length; later epochs are dropped.

  Returns:
    The sorted epochs.
  """
  epochs = {0, *checkpoint.snapshot_epochs}
  epochs.update(range(1, checkpoint.snapshot_until_epoch + 1))
  if checkpoint.snapshot_every_epochs:
    epochs.update(range(0, num_epochs + 1, checkpoint.snapshot_every_epochs))
  return sorted(e for e in epochs if e <= num_epochs)


@dataclasses.dataclass(frozen=True)
class EventSchedule:
  """The steps at which a run logs, checkpoints and keeps snapshots.

  Attributes:
    steps_per_epoch: optimizer steps per epoch.
    total_steps: optimizer steps of the whole run.
    log_every_steps: steps between logging events; 0 logs at each epoch end.
    checkpoint_every_epochs: epochs between rolling checkpoints; 0 for none but the
      snapshots and the last step.
    snapshot_epochs: the epochs whose checkpoints are never pruned.
  """

  steps_per_epoch: int
  total_steps: int
  log_every_steps: int
  checkpoint_every_epochs: int
  snapshot_epochs: tuple[int, ...]

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict,
                  steps_per_epoch: int) -> "EventSchedule":
    """The schedule of a run config.

    Args:
      config: the run config (`train.num_epochs`, `train.log_every_steps`, `checkpoint`).
      steps_per_epoch: optimizer steps per epoch (from the training set's size).

    Returns:
      The run's EventSchedule.
    """
    num_epochs = config.train.num_epochs
    return cls(steps_per_epoch=steps_per_epoch,
               total_steps=steps_per_epoch * num_epochs,
               log_every_steps=config.train.log_every_steps,
               checkpoint_every_epochs=config.checkpoint.every_epochs,
               snapshot_epochs=tuple(snapshot_epochs(config.checkpoint, num_epochs)))

  def epoch(self, step: int) -> float:
    """The (fractional) epoch reached after `step` steps, as logged."""
    return round(step / self.steps_per_epoch, 4)

  def is_epoch_end(self, step: int) -> bool:
    """Whether `step` (steps taken) closes an epoch (0 counts: the first epoch starts)."""
    return step % self.steps_per_epoch == 0

  def is_log_step(self, step: int) -> bool:
    """Whether a logging event (eval, metrics, stopping rules) follows step `step`."""
    every = self.log_every_steps or self.steps_per_epoch
    return step % every == 0 or step == self.total_steps

  def next_event(self, step: int) -> int:
    """The first step after `step` at which the host acts: a logging event, an epoch end (a
    new data order; every checkpoint falls on one) or the end of training."""
    every = self.log_every_steps or self.steps_per_epoch
    next_log = (step // every + 1) * every
    next_epoch_end = (step // self.steps_per_epoch + 1) * self.steps_per_epoch
    return min(next_log, next_epoch_end, self.total_steps)

  def is_checkpoint_step(self, step: int) -> bool:
    """Whether the state after step `step` is checkpointed (the last step always is)."""
    if step == self.total_steps:
      return True
    if not self.is_epoch_end(step):
      return False
    epoch = step // self.steps_per_epoch
    every = self.checkpoint_every_epochs
    return bool(every and epoch % every == 0) or epoch in self.snapshot_epochs

  def snapshot_steps(self) -> list[int]:
    """The steps whose checkpoints are never pruned (step 0 always is)."""
    return [epoch * self.steps_per_epoch for epoch in self.snapshot_epochs]
