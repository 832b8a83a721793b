"""`train_and_evaluate(config, workdir)`: the one entry point of every training run.

The loop: S seeds are trained together by a vmapped, jitted program (compiled once per run);
`train_chunk` runs the steps up to the next event, in one dispatch of a loop on device (on CPU,
one dispatch per step: see `program.build_program`); each epoch's data order is drawn once, at
its start. At each logging event (every epoch by default) one
jitted measurement closes the interval, the eval splits are evaluated on device, and the
values are fetched to the host in one transfer, written to `metrics.jsonl`, checked for NaN
and for the stopping rules (`logging_event`). Checkpoints are written after logging events or
epoch ends (`events` says when); re-running on the same workdir resumes.
"""

import dataclasses
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen import checkpoints, console, plots, run_log, run_setup
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

  Returns:
    A RunResult.

  Raises:
    ConfigError: for invalid config fields, before any training.
    TrainingDivergedError: when the train loss becomes NaN/inf (the checkpoints written
      before stay intact).
  """
  config_lib.validate(config)
  os.makedirs(workdir, exist_ok=True)
  config_lib.check_resume(workdir, config)
  setup = run_setup.prepare(config)
  program, events = setup.program, setup.events
  state = program.init(jnp.asarray(list(config.seeds), jnp.int32))
  config_lib.write_run_config(workdir, config)
  manager = checkpoints.make_manager(workdir, config, events.steps_per_epoch)
  state, step = run_setup.start_or_resume(workdir, manager, state)
  logger = EventLogger(workdir, config, setup, step)
  active = np.asarray(jax.device_get(state.active))
  order = None
  try:
    while step < events.total_steps and active.any():
      if order is None or events.is_epoch_end(step):
        order = program.epoch_order(state.rng, np.int32(step // events.steps_per_epoch))
      num_steps = events.next_event(step) - step
      state = program.train_chunk(state, order, np.int32(num_steps), *setup.train_data)
      step += num_steps
      state, active = logger.after_steps(state, step, num_steps, active)
      if events.is_checkpoint_step(step) or not active.any():
        checkpoints.save(manager, step, state)
  except TrainingDivergedError as error:
    # Deterministic: re-running would diverge again, so the run is over; say so.
    run_log.write_summary(workdir, {"final_step": step, "diverged": str(error)})
    raise
  finally:
    logger.close()
    manager.wait_until_finished()
    manager.close()
  return _finish(config, workdir, step, state, logger, program)


def _finish(config: ml_collections.ConfigDict, workdir: str, step: int, state: TrainState,
            logger: EventLogger, program: Program) -> RunResult:
  """Draws the figures, writes summary.json (marking the run finished) and gathers the result."""
  if config.logging.figures:
    plots.plot_run(workdir)
  final = {(row["seed"], row["split"]): row for row in run_log.read_metrics(workdir)}
  stopped = logger.tracker.stopped
  run_log.write_summary(workdir, {
      "final_step": step,
      "final": {f"{seed}/{split}": row for (seed, split), row in final.items()},
      "stopped": {str(seed): dataclasses.asdict(stop) for seed, stop in stopped.items()},
  })
  print("\n".join(console.summary_lines(workdir, final, stopped, config.train.num_epochs)),
        flush=True)
  return RunResult(state=state, final=final, stopped=stopped, jitted=program)
