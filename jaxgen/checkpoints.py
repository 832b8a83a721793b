"""Checkpoints in `workdir/checkpoints` with orbax, and loading them back for analysis.

What is kept: step 0 (the initial parameters) always; the snapshot schedule of
`config.checkpoint` (every E epochs, every epoch up to K, an explicit list; computed in
`jaxgen.events`), never pruned; and the latest checkpoint, for exact resume. orbax writes
each checkpoint to a temporary directory and renames it when complete, so a killed process
never leaves a half-written step behind as the latest one. Once a save is final, the checksums
of its files are recorded beside it (`jaxgen.checksums`) and every read verifies them first:
a damaged checkpoint raises a CheckpointError naming the step and the file.
"""

import logging as std_logging
import os
import threading
from typing import Any

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from orbax.checkpoint import checkpoint_managers as policies

from jaxgen import checksums, distributed
from jaxgen.events import EventSchedule
from jaxgen.train_state import REFERENCE_FIELDS, TrainState

PyTree = Any
DAMAGED_DIR = "damaged_checkpoints"  # In the workdir: damaged steps set aside on resume.


class CheckpointError(RuntimeError):
  """A checkpoint is missing or unreadable."""


class DamagedCheckpointError(CheckpointError):
  """A checkpoint's files differ from those recorded when it was saved."""


def checkpoint_dir(workdir: str) -> str:
  return os.path.join(os.path.abspath(workdir), "checkpoints")


def step_dir(directory: str, step: int) -> str:
  """The directory of `step` in a checkpoint directory (orbax names it by the step)."""
  return os.path.join(directory, str(step))


_unverifiable_noted: set[str] = set()


def verify(directory: str, step: int) -> bool:
  """Checks the files of checkpoint `step` in `directory` against their recorded checksums.

  Returns:
    True if they match; False, after a note (once per directory), for a checkpoint written
    before jaxgen recorded checksums, which cannot be verified.

  Raises:
    DamagedCheckpointError: naming the step and the first damaged or missing file.
  """
  try:
    verified = checksums.verify(step_dir(str(directory), step))
  except checksums.ChecksumError as error:
    raise DamagedCheckpointError(f"checkpoint step {step} in {directory} is damaged: "
                                 f"{error}") from error
  if not verified and str(directory) not in _unverifiable_noted:
    _unverifiable_noted.add(str(directory))
    logging.warning("Checkpoint step %d in %s has no recorded checksums (written before jaxgen "
                    "recorded them, or cut off just before): it is read unverified.", step,
                    directory)
  return verified


class ChecksummedManager(ocp.CheckpointManager):
  """orbax's CheckpointManager that records the checksums of each step once its save is final.

  Saves stay asynchronous: a background thread waits for orbax to commit the step and then
  writes its manifest; `wait_until_finished` (called by every `save` before the next one, and
  by `close`) waits for that thread too. Only the primary process records checksums.
  """

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self._recorder: threading.Thread | None = None

  def save(self, step: int, *args, **kwargs) -> bool:
    saved = super().save(step, *args, **kwargs)
    if saved and distributed.is_primary():
      self._recorder = threading.Thread(target=self._record_when_final, args=(step,),
                                        name=f"checksums-{step}")
      self._recorder.start()
    return saved

  def _record_when_final(self, step: int) -> None:
    try:
      ocp.CheckpointManager.wait_until_finished(self)
    except Exception:  # pylint: disable=broad-except
      return  # The save failed; the trainer's own wait_until_finished raises the error.
    directory = step_dir(str(self.directory), step)
    if os.path.isdir(directory):  # Not committed if the save failed.
      try:
        checksums.record(directory)
      except OSError as error:  # E.g. a full disk: the step stays usable, unverified.
        logging.warning("Could not record the checksums of %s: %s", directory, error)

  def wait_until_finished(self) -> None:
    super().wait_until_finished()
    if self._recorder is not None:
      self._recorder.join()
      self._recorder = None


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
  return ChecksummedManager(checkpoint_dir(workdir), options=options,
                            item_handlers=ocp.StandardCheckpointHandler())


def save(manager: ocp.CheckpointManager, step: int, state: PyTree) -> None:
  """Starts an asynchronous save; call `manager.wait_until_finished()` before exiting."""
  manager.save(step, args=ocp.args.StandardSave(state), force=True)


def restore(manager: ocp.CheckpointManager, step: int, target: TrainState,
            check: bool = True) -> TrainState:
  """Restores `step` into the structure, shapes and shardings of `target`.

  A checkpoint may hold reference snapshots that `target` does not keep (every checkpoint
  written before the state kept only the references its metrics need holds both): they are
  read with the layout of `target.params` and dropped, so such runs still resume.

  Args:
    manager: the run's manager (from `make_manager`).
    step: a saved step.
    target: a state of the run's config (its values are unused).
    check: whether to verify the step's checksums first (False: the caller just did).

  Returns:
    The restored state, structured like `target`.

  Raises:
    DamagedCheckpointError: if the step's files differ from their recorded checksums.
    CheckpointError: if the step cannot be read into that structure.
  """
  if check:
    verify(manager.directory, step)
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


def _not_read_only_notice(record: std_logging.LogRecord) -> bool:
  # orbax warns "Given directory is read only" whenever a manager is opened read-only, which
  # is how every analysis reads a run; the message is ours to expect, not the user's to act on.
  return record.msg != "Given directory is read only=%s"


std_logging.getLogger("absl").addFilter(_not_read_only_notice)  # orbax logs through absl.


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

  Raises:
    CheckpointError: if there is no such step, or it cannot be read; a
      DamagedCheckpointError, naming the file, if its files fail their checksums.
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
    verify(checkpoint_dir(workdir), step)
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


def set_aside(manager: ocp.CheckpointManager, workdir: str, steps: list[int]) -> str:
  """Moves damaged checkpoint steps out of the run, into `workdir/damaged_checkpoints/`.

  They are moved rather than deleted so nothing is lost, and out of `checkpoints/` so that
  the resumed run can save those steps again. In a multi-process run the primary process
  moves them (the workdir is shared).

  Returns:
    The directory they were moved to.
  """
  target = os.path.join(os.path.abspath(workdir), DAMAGED_DIR)
  for step in steps if distributed.is_primary() else ():
    os.makedirs(target, exist_ok=True)
    destination = os.path.join(target, str(step))
    suffix = 1
    while os.path.exists(destination):  # Damaged again after an earlier resume.
      destination = os.path.join(target, f"{step}.{suffix}")
      suffix += 1
    os.replace(step_dir(str(manager.directory), step), destination)
  distributed.barrier("damaged steps set aside")  # Then every process lists what is left.
  manager.reload()
  return target
