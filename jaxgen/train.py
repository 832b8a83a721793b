"""`train_and_evaluate(config, workdir)`: the one entry point of every training run.

The loop: S seeds are trained together by a vmapped, jitted program (compiled once per run);
`train_chunk` runs the steps up to the next event, in one dispatch of a loop on device (on CPU,
one dispatch per step: see `program.build_program`); each epoch's data order is drawn once, at
its start. At each logging event (every epoch by default) one
jitted measurement closes the interval, the eval splits are evaluated on device, and the
values are fetched to the host in one transfer, written to `metrics.jsonl`, checked for NaN
and for the stopping rules (`logging_event`). Checkpoints are written after logging events or
epoch ends (`events` says when), never from a state holding a NaN; re-running on the same
workdir resumes. One process at a time trains in a workdir (`workdir_lock`), and SIGINT or
SIGTERM end a run cleanly between its saves (`interrupts`).

Over several processes (after `jaxgen.distributed.initialize`) every process runs this same
loop on its devices of the global mesh; process 0 alone holds the lock and writes config.json,
metrics.jsonl, TensorBoard events, figures and summary.json; all write the checkpoints
together, and all stop at the same safe point when any of them is signalled.
"""

import dataclasses
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen import (
    checkpoints,
    console,
    distributed,
    interrupts,
    plots,
    run_log,
    run_setup,
    workdir_lock,
)
from jaxgen import config as config_lib
from jaxgen.logging_event import EventLogger, TrainingDivergedError
from jaxgen.program import Program
from jaxgen.stopping import SeedStop
from jaxgen.train_state import TrainState


@dataclasses.dataclass
class RunResult:
  """What a finished run returns (everything is also in the workdir).

  Attributes:
    state: the final TrainState, stacked over seeds.
    final: the last row per (seed, split) of metrics.jsonl.
    stopped: per seed, why and when a stopping rule ended it.
    jitted: the run's jitted functions, e.g. to check that each compiled once.
  """

  state: TrainState
  final: dict[tuple[int, str], dict[str, Any]]
  stopped: dict[int, SeedStop]
  jitted: Program


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> RunResult:
  """Trains every seed of `config.seeds`, logging, checkpointing and resuming in `workdir`.

  Args:
    config: a run config (see `jaxgen/config/schema.py` for every field).
    workdir: where config.json, metrics.jsonl, tensorboard/, checkpoints/ and figures/ go.
      If it holds an unfinished run of the same config, training resumes from its latest
      checkpoint and ends with the same parameters as an uninterrupted run.
      Over several processes, every process passes the same config and (shared) workdir.

  Returns:
    A RunResult.

  Raises:
    ConfigError: for invalid config fields or an unusable workdir, before any training,
      leaving the workdir as it was (a WorkdirBusyError if another process runs in it).
    TrainingDivergedError: when the train loss or the state becomes NaN/inf (the checkpoints
      written before stay intact).
    interrupts.Interrupted: a KeyboardInterrupt, on SIGINT or SIGTERM, once the checkpoint
      save in progress has finished; the run resumes when called again.
  """
  config_lib.validate(config)
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise config_lib.ConfigError(f"workdir {workdir!r} is a file; a run needs a directory "
                                 "(a new path, or that of the run to resume)")
  # The processes of a multi-process run share the workdir: the primary one holds the lock.
  lock = workdir_lock.WorkdirLock(workdir, enabled=distributed.is_primary())
  # Over several processes, a signal to any of them stops them all at the same safe point.
  agree = distributed.max_over_processes if jax.process_count() > 1 else None
  with interrupts.InterruptGuard(agree=agree) as guard:
    lock.acquire()
    try:
      setup, state = _prepare(config, workdir)
      guard.check()  # Interrupted during setup: stop before writing anything.
    except BaseException:
      lock.release(undo=True)  # Nothing was written: leave the workdir as it was found.
      raise
    try:
      return _train(config, workdir, guard, setup, state)
    finally:
      lock.release()


def _prepare(config: ml_collections.ConfigDict,
             workdir: str) -> tuple[run_setup.RunSetup, TrainState]:
  """Checks `config` against the workdir's run and the data, and builds the run; writes
  nothing."""
  config_lib.check_resume(workdir, config)
  setup = run_setup.prepare(config)
  return setup, setup.program.init(jnp.asarray(list(config.seeds), jnp.int32))


def _train(config: ml_collections.ConfigDict, workdir: str, guard: interrupts.InterruptGuard,
           setup: run_setup.RunSetup, state: TrainState) -> RunResult:
  """Trains from the newest checkpoint (or `state`), under the workdir lock and the guard."""
  program, events = setup.program, setup.events
  # Over several processes, only process 0 writes the run's files (see `jaxgen.distributed`),
  # once every process has compared its config with the saved one.
  distributed.barrier("config checked")
  if distributed.is_primary():
    config_lib.write_run_config(workdir, config)
  manager = checkpoints.make_manager(workdir, config, events.steps_per_epoch)
  logger, step = None, 0
  try:
    with guard.critical():  # A signal during the save of step 0 waits for it.
      state, step = run_setup.start_or_resume(workdir, manager, state)
      guard.at(step, events)
    logger = EventLogger(workdir, config, setup, step)
    active = np.asarray(distributed.fetch(state.active))
    order = None
    while step < events.total_steps and active.any():
      if order is None or events.is_epoch_end(step):
        order = program.epoch_order(state.rng, np.int32(step // events.steps_per_epoch))
      num_steps = events.next_event(step) - step
      # Frozen seeds (stopped by a stopping rule) must keep their states, which costs a select
      # over the whole state per step: only paid once some seed has stopped.
      chunk = program.train_chunk if active.all() else program.train_chunk_with_frozen
      state = chunk(state, order, np.int32(num_steps), *setup.train_data)
      step += num_steps
      guard.at(step, events)
      state, active = logger.after_steps(state, step, num_steps, active)
      if events.is_checkpoint_step(step) or not active.any():
        logger.check_finite(state, step, active)
        # A second signal (which raises at once) waits until the save is under way whole.
        with guard.critical():
          checkpoints.save(manager, step, state)
      guard.check()  # A signal ends the run here, after this event's rows and checkpoint.
  except TrainingDivergedError as error:
    # Deterministic: re-running would diverge again, so the run is over; say so.
    if distributed.is_primary():
      run_log.write_summary(workdir, {"final_step": step, "diverged": str(error)})
    raise
  finally:
    with guard.critical():  # A second Ctrl-C does not cut short the save being finished.
      if logger is not None:
        logger.close()
      manager.wait_until_finished()
      manager.close()
  return _finish(config, workdir, step, state, logger, program)


def _finish(config: ml_collections.ConfigDict, workdir: str, step: int, state: TrainState,
            logger: EventLogger, program: Program) -> RunResult:
  """Draws the figures, writes summary.json (marking the run finished) and gathers the result."""
  distributed.barrier("metrics written")  # Process 0 wrote metrics.jsonl; all read it.
  final = {(row["seed"], row["split"]): row for row in run_log.read_metrics(workdir)}
  stopped = logger.tracker.stopped
  if distributed.is_primary():
    if config.logging.figures:
      plots.plot_run(workdir)
    run_log.write_summary(workdir, {
        "final_step": step,
        "final": {f"{seed}/{split}": row for (seed, split), row in final.items()},
        "stopped": {str(seed): dataclasses.asdict(stop) for seed, stop in stopped.items()},
    })
    print("\n".join(console.summary_lines(workdir, final, stopped, config.train.num_epochs)),
          flush=True)
  return RunResult(state=state, final=final, stopped=stopped, jitted=program)
