"""What a run builds before its first step, and where it starts from.

`prepare` loads the data, builds the model, optimizer, mesh, jitted program and event
schedule, and places the data on the devices; `start_or_resume` saves step 0 of a new run or
restores the latest checkpoint of an interrupted one.
"""

import dataclasses

import jax
import ml_collections
import optax
import orbax.checkpoint as ocp
from absl import logging

from jaxgen import checkpoints, run_log, sharding
from jaxgen.config.errors import ConfigError
from jaxgen.config.validation import model_kwargs
from jaxgen.data.pipeline import Dataset, load_dataset, padded_batches
from jaxgen.events import EventSchedule
from jaxgen.models import build_model
from jaxgen.optim.optimizers import build_optimizer
from jaxgen.program import Program, build_program
from jaxgen.train_state import TrainState


@dataclasses.dataclass(frozen=True)
class RunSetup:
  """A run's fixed parts, built once.

  Attributes:
    program: the jitted functions.
    events: when the run logs and checkpoints.
    learning_rate: the optimizer's schedule, step -> learning rate.
    state_sharding: the layout of the state (seed axis over the "seeds" mesh axis).
    train_data: (images, labels) of the whole training set, on every device.
    eval_data: per eval split, its padded (images, labels, mask) batches, on every device.
  """

  program: Program
  events: EventSchedule
  learning_rate: optax.Schedule
  state_sharding: jax.sharding.Sharding
  train_data: tuple[jax.Array, jax.Array]
  eval_data: dict[str, tuple[jax.Array, ...]]


def _check_against_data(config: ml_collections.ConfigDict, dataset: Dataset) -> None:
  """Raises ConfigError for fields that only the loaded dataset can check."""
  num_train, batch_size = len(dataset.train), config.train.batch_size
  if batch_size > num_train:
    raise ConfigError(f"config.train.batch_size={batch_size} exceeds the {num_train} "
                      "training examples")
  for k in config.train.eval_top_k:
    if not 1 <= k <= dataset.num_classes:
      raise ConfigError(f"config.train.eval_top_k={tuple(config.train.eval_top_k)}: each k must "
                        f"be in [1, {dataset.num_classes}] (the number of classes)")


def prepare(config: ml_collections.ConfigDict) -> RunSetup:
  """Builds everything a run of `config` needs before its first step.

  Args:
    config: a validated run config.

  Returns:
    The RunSetup.

  Raises:
    ConfigError: for fields that do not fit the dataset or the devices.
  """
  dataset = load_dataset(config.data)
  _check_against_data(config, dataset)
  steps_per_epoch = len(dataset.train) // config.train.batch_size
  model = build_model(config.model.name, dataset.num_classes, **model_kwargs(config.model))
  recorded = None
  if config.optim.copy_rotation_from:
    recorded = run_log.read_step_rotations(config.optim.copy_rotation_from,
                                           config.optim.layer_rule)
  tx, learning_rate = build_optimizer(config.optim, steps_per_epoch, recorded)
  mesh = sharding.make_mesh(config)
  replicated = sharding.replicated(mesh)
  eval_data = {name: jax.device_put(padded_batches(split, config.train.eval_batch_size),
                                    replicated)
               for name, split in dataset.eval_splits().items()}
  return RunSetup(
      program=build_program(config, model, tx, mesh, dataset.train.images[:1],
                            len(dataset.train)),
      events=EventSchedule.from_config(config, steps_per_epoch),
      learning_rate=learning_rate,
      state_sharding=sharding.seed_sharding(mesh),
      train_data=jax.device_put((dataset.train.images, dataset.train.labels), replicated),
      eval_data=eval_data,
  )


def start_or_resume(workdir: str, manager: ocp.CheckpointManager,
                    state: TrainState) -> tuple[TrainState, int]:
  """Saves step 0 of a new run, or restores the newest intact checkpoint of an interrupted one.

  A checkpoint whose files fail their checksums (a changed byte, a truncated or missing file),
  or one without checksums that orbax cannot read, is damaged: it is set aside into
  `workdir/damaged_checkpoints/` and the run resumes from the newest earlier step that
  verifies, saying so in one log line (from the start if none does).

  Args:
    workdir: the run's work directory.
    manager: the run's checkpoint manager (the caller closes it, also after an error).
    state: the freshly initialised state.

  Returns:
    (state, step): the state to train from and the number of steps it has taken.

  Raises:
    checkpoints.CheckpointError: if a checkpoint whose checksums verify cannot be read into
      the run's state (written by another version of the state, not damaged).
  """
  damaged = []
  for step in sorted(manager.all_steps(), reverse=True):
    try:
      verified = checkpoints.verify(manager.directory, step)
      restored = checkpoints.restore(manager, step, state, check=False)
    except checkpoints.DamagedCheckpointError as error:
      damaged.append((step, error))
      continue
    except checkpoints.CheckpointError as error:
      if verified:  # Intact files that do not fit this state: not damage; stop and say so.
        raise
      damaged.append((step, error))  # Unverifiable and unreadable: truncated or damaged.
      continue
    if damaged:
      _report_damaged(workdir, manager, damaged, step)
    logging.info("Resuming %s from step %d.", workdir, step)
    return restored, step
  if damaged:
    _report_damaged(workdir, manager, damaged, None)
  checkpoints.save(manager, 0, state)
  return state, 0


def _report_damaged(workdir: str, manager: ocp.CheckpointManager,
                    damaged: list[tuple[int, Exception]], used: int | None) -> None:
  """Sets the damaged steps aside and says, in one line, which were bad and which step is used."""
  moved = checkpoints.set_aside(manager, workdir, [step for step, _ in damaged])
  steps = ", ".join(str(step) for step, _ in damaged)
  # The checksum error names the file; orbax's own errors run over many lines: name them only.
  reasons = "; ".join(
      str(error.__cause__) if isinstance(error, checkpoints.DamagedCheckpointError)
      else f"unreadable, no checksums to check: {type(error.__cause__ or error).__name__}"
      for _, error in damaged)
  resumed = (f"resuming from step {used}, the newest checkpoint that verifies" if used is not None
             else "no checkpoint verifies, so the run starts from the beginning")
  logging.warning("Damaged checkpoint step%s %s in %s (%s): %s; set aside in %s.",
                  "s" if len(damaged) > 1 else "", steps, manager.directory, reasons, resumed,
                  moved)
