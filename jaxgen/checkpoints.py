"""Checkpoints in `workdir/checkpoints` with orbax, and loading them back for analysis.

What is kept: step 0 (the initial parameters) always; the snapshot schedule of
`config.checkpoint` (every E epochs, every epoch up to K, an explicit list; computed in
`jaxgen.events`), never pruned; and the latest checkpoint, for exact resume. orbax writes
each checkpoint to a temporary directory and renames it when complete, so a killed process
never leaves a half-written step behind as the latest one.
"""

import logging
import os
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as policies

from jaxgen.events import EventSchedule
from jaxgen.train_state import REFERENCE_FIELDS, TrainState

PyTree = Any


class CheckpointError(RuntimeError):
  """A checkpoint is missing or unreadable."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


def make_manager(workdir: str, config: ml_collections.ConfigDict,
                 steps_per_epoch: int) -> ocp.CheckpointManager:
  """A manager keeping step 0, the snapshot schedule and the latest checkpoint.

  Args:
    workdir: the run's work directory.
    config: the run config (its `checkpoint` section and length).
    steps_per_epoch: optimizer steps per epoch.

  Returns:
    An orbax CheckpointManager; close it (after `wait_until_finished`) when done.
  """
  keep = EventSchedule.from_config(config, steps_per_epoch).snapshot_steps()
  options = ocp.CheckpointManagerOptions(
      preservation_policy=policies.AnyPreservationPolicy(
          [policies.LatestN(1), policies.CustomSteps(keep)]),
      create=True,
  )
  # The handler lets `restore` read a checkpoint's tree metadata before restoring it.
  return ocp.CheckpointManager(checkpoint_dir(workdir), options=options,
                               item_handlers=ocp.StandardCheckpointHandler())


def save(manager: ocp.CheckpointManager, step: int, state: PyTree) -> None:
  """Starts an asynchronous save; call `manager.wait_until_finished()` before exiting."""
  manager.save(step, args=ocp.args.StandardSave(state), force=True)


def restore(manager: ocp.CheckpointManager, step: int, target: TrainState) -> TrainState:
  """Restores `step` into the structure, shapes and shardings of `target`.

  A checkpoint may hold reference snapshots that `target` does not keep (every checkpoint
  written before the state kept only the references its metrics need holds both): they are
  read with the layout of `target.params` and dropped, so such runs still resume.

  Args:
    manager: the run's manager (from `make_manager`).
    step: a saved step.
    target: a state of the run's config (its values are unused).

  Returns:
    The restored state, structured like `target`.

  Raises:
    CheckpointError: if the step cannot be read into that structure.
  """
  try:
    saved = manager.item_metadata(step).tree
    unused = [name for name in REFERENCE_FIELDS.values()
              if getattr(target, name) is None and saved.get(name) is not None]
    full = target.replace(**dict.fromkeys(unused, target.params))
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, full)
    restored = manager.restore(step, args=ocp.args.StandardRestore(abstract))
    return restored.replace(**dict.fromkeys(unused))
  except Exception as error:  # orbax raises many types for a damaged checkpoint.
    raise CheckpointError(
        f"checkpoint step {step} in {manager.directory} cannot be read ({error!r}); it may be "
        "truncated or written by a different config. Delete that step directory to resume "
        "from an earlier checkpoint, or use a fresh --workdir.") from error


def _read_only_options() -> ocp.CheckpointManagerOptions:
  # The fields that read_only overrides are set to the same values, so orbax does not warn.
  return ocp.CheckpointManagerOptions(read_only=True, create=False, save_interval_steps=0)


def _not_read_only_notice(record: logging.LogRecord) -> bool:
  # orbax warns "Given directory is read only" whenever a manager is opened read-only, which
  # is how every analysis reads a run; the message is ours to expect, not the user's to act on.
  return record.msg != "Given directory is read only=%s"


logging.getLogger("absl").addFilter(_not_read_only_notice)  # orbax logs through absl.


def saved_steps(workdir: str) -> list[int]:
  """The steps with a complete checkpoint in `workdir`."""
  if not os.path.isdir(checkpoint_dir(workdir)):
    return []
  with ocp.CheckpointManager(checkpoint_dir(workdir),
                             options=_read_only_options()) as manager:
    return list(manager.all_steps())


def load(workdir: str, step: int | None = None, seed_index: int | None = None) -> dict[str, PyTree]:
  """Loads the parameters and batch statistics saved at `step` of a run, for analysis.

  Args:
    workdir: the run's work directory.
    step: the step to load; None for the latest. Step 0 is the initialisation.
    seed_index: index into `config.seeds` to select one seed; None keeps the leading seed
      axis on every array.

  Returns:
    {"params": ..., "batch_stats": ..., "step": int} as NumPy arrays.
  """
  steps = saved_steps(workdir)
  if not steps:
    raise CheckpointError(f"no checkpoints in {checkpoint_dir(workdir)}")
  step = steps[-1] if step is None else step
  if step not in steps:
    raise CheckpointError(f"no checkpoint for step {step} in {checkpoint_dir(workdir)}; "
                          f"saved steps: {steps}")
  with ocp.CheckpointManager(checkpoint_dir(workdir),
                             options=_read_only_options(),
                             item_handlers=ocp.StandardCheckpointHandler()) as manager:
    try:
      # Restore onto one local device whatever mesh the run was trained on.
      metadata = manager.item_metadata(step).tree
      device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
      target = jax.tree.map(
          lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=device), metadata)
      state = manager.restore(step, args=ocp.args.StandardRestore(target))
    except Exception as error:
      raise CheckpointError(f"checkpoint step {step} in {checkpoint_dir(workdir)} cannot be "
                            f"read ({error!r})") from error
  result = {"params": state["params"], "batch_stats": state.get("batch_stats", {})}
  result = jax.tree.map(np.asarray, result)
  if seed_index is not None:
    result = jax.tree.map(lambda x: x[seed_index], result)
  return {**result, "step": step}
