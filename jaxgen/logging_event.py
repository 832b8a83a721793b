"""The work of a logging event, and the per-epoch progress bar around it.

At each logging event the eval splits are evaluated on device, one jitted measurement closes
the interval, and the values are fetched to the host in one transfer, checked for NaN,
written to `metrics.jsonl` and fed to the stopping rules, which may freeze seeds.
"""

import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tqdm

from jaxgen import checkpoints, console, distributed, run_log, sharding
from jaxgen.events import EventSchedule
from jaxgen.run_setup import RunSetup
from jaxgen.stopping import StoppingTracker
from jaxgen.train_state import TrainState


class TrainingDivergedError(FloatingPointError):
  """The training loss became NaN or infinite."""


def _rows(step: int, epoch: float, wall_time: float, seeds: list[int], active: np.ndarray,
          train: dict[str, np.ndarray], evals: dict[str, dict[str, np.ndarray]],
          learning_rate: float) -> list[dict[str, Any]]:
  """One event's metrics.jsonl rows: per active seed, a train row and one per eval split."""
  rows = []
  for i, seed in enumerate(seeds):
    if not active[i]:
      continue  # A stopped seed has nothing new to report.
    base = {"step": step, "epoch": epoch, "seed": seed, "wall_time": wall_time}
    train_row = {key: float(value[i]) for key, value in train.items()}
    rows.append({**base, "split": "train", "learning_rate": learning_rate, **train_row})
    for split, values in evals.items():
      rows.append({**base, "split": split, **{k: float(v[i]) for k, v in values.items()}})
  return rows


def _finite_per_seed(state: TrainState) -> jax.Array:
  """(S,) bool: whether every floating-point value of each seed's state is finite."""
  per_leaf = [jnp.isfinite(leaf).reshape(leaf.shape[0], -1).all(axis=1)
              for leaf in jax.tree.leaves(state) if jnp.issubdtype(leaf.dtype, jnp.inexact)]
  return jnp.stack(per_leaf).all(axis=0)


class _EpochProgress:
  """A tqdm bar per epoch, shown only on a terminal and when `logging.progress_bar` is set."""

  def __init__(self, events: EventSchedule, enabled: bool):
    self._events = events
    self._enabled = enabled
    self._bar = None

  def advance(self, step: int, num_steps: int) -> None:
    """Counts the `num_steps` steps (all in one epoch) that ended at step `step`, opening the
    bar of their epoch if needed."""
    if self._bar is None:
      done, per_epoch = step - num_steps, self._events.steps_per_epoch
      self._bar = tqdm.tqdm(total=per_epoch, initial=done % per_epoch,
                            desc=f"epoch {done // per_epoch + 1}", disable=not self._enabled,
                            leave=False)
    self._bar.update(num_steps)

  def show(self, row: dict[str, Any]) -> None:
    self._bar.set_postfix({k: f"{row[k]:.4f}" for k in ("loss", "accuracy")})

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
      self._bar = None


class EventLogger:
  """Runs the logging events of one run (or of the rest of a resumed one).

  Attributes:
    tracker: the stopping rules' state, replayed from the rows already logged.
  """

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, setup: RunSetup,
               start_step: int):
    """Opens the run's log at `start_step` and replays its history into the tracker.

    Args:
      workdir: the run's work directory.
      config: the run config.
      setup: the run's fixed parts (program, events, data on device).
      start_step: the step the run starts or resumes from.
    """
    self._workdir = workdir
    self._setup = setup
    self._seeds = list(config.seeds)
    # Every process replays the history into its tracker (each decides the same stops); only
    # process 0 writes the log, after all have read what the resumed part logged.
    self._primary = distributed.is_primary()
    history = [row for row in run_log.read_metrics(workdir) if row["step"] <= start_step]
    distributed.barrier("metrics read")
    self._log = None
    if self._primary:
      self._log = run_log.RunLog(workdir, start_step, config.logging.tensorboard)
    self.tracker = StoppingTracker(config.train.stop, self._seeds)
    self.tracker.replay(history)
    # Wall time continues from the interrupted part of a resumed run.
    self._time_offset = max((row["wall_time"] for row in history), default=0.0)
    self._start_time = time.time()
    self._progress = _EpochProgress(
        setup.events, config.logging.progress_bar and self._primary and sys.stderr.isatty())
    self._num_epochs = config.train.num_epochs
    if self._primary and start_step < setup.events.total_steps:
      print(console.start_line(config, workdir, setup.events.steps_per_epoch, start_step),
            flush=True)
    self._finite = jax.jit(_finite_per_seed,
                           out_shardings=sharding.replicated(setup.state_sharding.mesh))

  def check_finite(self, state: TrainState, step: int, active: np.ndarray) -> None:
    """Raises TrainingDivergedError if an active seed's state holds a NaN or inf, so that it
    never reaches a checkpoint (where it would become the run's latest).

    A logging event checks the train loss, but the loss averages the interval before the
    last update and events may be rarer than checkpoints: this one reduction over the state,
    fetched at each checkpoint step, closes both gaps.
    """
    finite = np.asarray(distributed.fetch(self._finite(state)))
    diverged = [seed for seed, ok, on in zip(self._seeds, finite, active, strict=True)
                if on and not ok]
    if diverged:
      raise TrainingDivergedError(
          f"the state of seed(s) {diverged} became NaN or infinite by step {step} (epoch "
          f"{step / self._setup.events.steps_per_epoch:.2f}); the checkpoints in "
          f"{checkpoints.checkpoint_dir(self._workdir)} up to the previous one are intact. "
          "Lower config.optim.learning_rate or check the data.")

  def after_steps(self, state: TrainState, step: int, num_steps: int,
                  active: np.ndarray) -> tuple[TrainState, np.ndarray]:
    """Advances the progress bar and runs the logging event that follows `step`, if any.

    Args:
      state: the state after `step` steps.
      step: the steps taken.
      num_steps: how many of them the last dispatch took (all in one epoch).
      active: per seed, whether it still trains.

    Returns:
      (state, active), with the seeds that a stopping rule ended now frozen.

    Raises:
      TrainingDivergedError: if the train loss of an active seed is NaN or infinite.
    """
    self._progress.advance(step, num_steps)
    events = self._setup.events
    if events.is_log_step(step):
      state, active = self._log_event(state, step, active)
    if events.is_epoch_end(step):
      self._progress.close()
    return state, active

  def _log_event(self, state: TrainState, step: int,
                 active: np.ndarray) -> tuple[TrainState, np.ndarray]:
    program, events = self._setup.program, self._setup.events
    # Evaluated before measuring: the measurement donates the state.
    evals = {name: program.eval_step(state, *arrays)
             for name, arrays in self._setup.eval_data.items()}
    state, train_values = program.measure_step(state)
    train_values, evals = distributed.fetch((train_values, evals))
    losses = train_values["loss"][active]
    if not np.all(np.isfinite(losses)):
      raise TrainingDivergedError(
          f"train loss became {losses} at step {step} (epoch {step / events.steps_per_epoch:.2f});"
          f" the checkpoints in {checkpoints.checkpoint_dir(self._workdir)} up to the previous "
          "one are intact. Lower config.optim.learning_rate or check the data.")
    wall_time = self._time_offset + time.time() - self._start_time
    rows = _rows(step, events.epoch(step), wall_time, self._seeds, active, train_values, evals,
                 float(self._setup.learning_rate(step - 1)))
    if self._primary:
      self._log.write(rows)
      self._progress.show(rows[0])
      # tqdm.write keeps the line clear of an open progress bar.
      tqdm.tqdm.write(console.progress_line(rows, self._num_epochs, len(self._seeds)),
                      file=sys.stdout)
      sys.stdout.flush()
    if self.tracker.update(rows):
      active = np.asarray([seed not in self.tracker.stopped for seed in self._seeds])
      state = state.replace(active=distributed.put(active, self._setup.state_sharding))
    return state, active

  def close(self) -> None:
    self._progress.close()
    if self._log is not None:
      self._log.close()
