"""`train_and_evaluate(config, workdir)`: the one entry point of every training run.

The loop: S seeds are trained together by one vmapped, jitted `train_step` (compiled once per
run); at each logging event (every epoch by default) one jitted measurement closes the
interval, the eval splits are evaluated on device, and the values are fetched to the host in
one transfer, written to `metrics.jsonl`, checked for NaN and for the stopping rules.
Checkpoints are written after logging events; re-running on the same workdir resumes.
"""

import dataclasses
import functools
import os
import sys
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm
from absl import logging

from jaxgen import checkpoints, plots, run_log, sharding, steps
from jaxgen import config as config_lib
from jaxgen.config import ConfigError
from jaxgen.config.validation import model_kwargs
from jaxgen.data.augment import prepare_inputs
from jaxgen.data.pipeline import load_dataset, padded_batches
from jaxgen.models import build_model
from jaxgen.optim.optimizers import build_optimizer
from jaxgen.stopping import SeedStop, StoppingTracker
from jaxgen.train_state import TrainState, init_state


class TrainingDivergedError(FloatingPointError):
  """The training loss became NaN or infinite."""


@dataclasses.dataclass
class RunResult:
  """What a finished run returns (everything is also in the workdir).

  Attributes:
    state: the final TrainState, stacked over seeds.
    final: the last row per (seed, split) of metrics.jsonl.
    stopped: per seed, why and when a stopping rule ended it.
    jitted: the run's jitted functions by name, e.g. to check they compiled once.
  """

  state: TrainState
  final: dict[tuple[int, str], dict[str, Any]]
  stopped: dict[int, SeedStop]
  jitted: dict[str, Any]


def _is_log_step(step: int, steps_per_epoch: int, total_steps: int,
                 log_every_steps: int) -> bool:
  every = log_every_steps or steps_per_epoch
  return step % every == 0 or step == total_steps


def _is_checkpoint_step(step: int, steps_per_epoch: int, total_steps: int,
                        config: ml_collections.ConfigDict) -> bool:
  if step == total_steps:
    return True
  if step % steps_per_epoch:
    return False
  epoch = step // steps_per_epoch
  every = config.checkpoint.every_epochs
  return bool(every and epoch % every == 0) or epoch in checkpoints.snapshot_epochs(
      config.checkpoint, config.train.num_epochs)


def _rows(step: int, epoch: float, wall_time: float, seeds: list[int], active: np.ndarray,
          train: dict[str, np.ndarray], evals: dict[str, dict[str, np.ndarray]],
          learning_rate: float) -> list[dict[str, Any]]:
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


def build_program(config: ml_collections.ConfigDict, model: nn.Module,
                  tx: optax.GradientTransformation, mesh: jax.sharding.Mesh,
                  sample_images: np.ndarray) -> dict[str, Any]:
  """The run's jitted functions, each vmapped over the leading seed axis of the state.

  Args:
    config: the run config (bound statically into every step).
    model: the flax module.
    tx: the optimizer.
    mesh: the (seeds, data) device mesh.
    sample_images: one raw training image batch, to give init the model's input shape.

  Returns:
    {"init": seeds -> state, "train_step": (state, images, labels) -> state (donating the
    state), "eval_step": (state, images, labels, mask) -> {loss, accuracy, top{k}_accuracy},
    "measure_step": state -> (state, values)}.
  """
  state_sharding = sharding.seed_sharding(mesh)
  sample_input = prepare_inputs(jnp.asarray(sample_images), None, False, config.data,
                                config.augment)
  init = jax.vmap(functools.partial(init_state, model=model, tx=tx, sample_input=sample_input))
  batch_sharding = sharding.batch_sharding(mesh)
  train_step = functools.partial(steps.train_step, model=model, tx=tx, config=config,
                                 batch_sharding=batch_sharding)
  eval_step = functools.partial(steps.eval_step, model=model, config=config,
                                batch_sharding=batch_sharding)
  measure_step = functools.partial(steps.measure_step, config=config)
  return {
      "init": jax.jit(init, out_shardings=state_sharding),
      "train_step": jax.jit(
          jax.vmap(train_step, in_axes=(0, None, None), spmd_axis_name="seeds"),
          donate_argnums=0, out_shardings=state_sharding),
      "eval_step": jax.jit(
          jax.vmap(eval_step, in_axes=(0, None, None, None), spmd_axis_name="seeds")),
      "measure_step": jax.jit(
          jax.vmap(measure_step, spmd_axis_name="seeds"), donate_argnums=0,
          out_shardings=(state_sharding, sharding.replicated(mesh))),
  }


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> RunResult:
  """Trains every seed of `config.seeds`, logging, checkpointing and resuming in `workdir`.

  Args:
    config: a run config (see `configs/default.py` for every field).
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
  seeds = list(config.seeds)

  dataset = load_dataset(config.data)
  num_train, batch_size = len(dataset.train), config.train.batch_size
  if batch_size > num_train:
    raise ConfigError(f"config.train.batch_size={batch_size} exceeds the {num_train} "
                      "training examples")
  for k in config.train.eval_top_k:
    if not 1 <= k <= dataset.num_classes:
      raise ConfigError(f"config.train.eval_top_k={tuple(config.train.eval_top_k)}: each k must "
                        f"be in [1, {dataset.num_classes}] (the number of classes)")
  steps_per_epoch = num_train // batch_size
  total_steps = steps_per_epoch * config.train.num_epochs

  model = build_model(config.model.name, dataset.num_classes, **model_kwargs(config.model))
  recorded = None
  if config.optim.copy_rotation_from:
    recorded = run_log.read_step_rotations(config.optim.copy_rotation_from,
                                           config.optim.layer_rule)
  tx, schedule = build_optimizer(config.optim, steps_per_epoch, recorded)
  mesh = sharding.make_mesh(config)
  state_sharding, replicated = sharding.seed_sharding(mesh), sharding.replicated(mesh)
  jitted = build_program(config, model, tx, mesh, dataset.train.images[:1])
  init_fn, train_fn, eval_fn, measure_fn = (
      jitted[name] for name in ("init", "train_step", "eval_step", "measure_step"))

  train_images = jax.device_put(dataset.train.images, replicated)
  train_labels = jax.device_put(dataset.train.labels, replicated)
  eval_data = {name: jax.device_put(padded_batches(split, config.train.eval_batch_size),
                                    replicated)
               for name, split in dataset.eval_splits().items()}

  state = init_fn(jnp.asarray(seeds, jnp.int32))
  config_lib.write_run_config(workdir, config)
  manager = checkpoints.make_manager(workdir, config, steps_per_epoch)
  start_step = manager.latest_step()
  if start_step is None:
    start_step = 0
    checkpoints.save(manager, 0, state)
  else:
    try:
      state = checkpoints.restore(manager, start_step, state)
    except checkpoints.CheckpointError:
      manager.close()  # Its background threads would otherwise outlive the error.
      raise
    logging.info("Resuming %s from step %d.", workdir, start_step)

  log = run_log.RunLog(workdir, start_step, config.logging.tensorboard)
  history = run_log.read_metrics(workdir)
  tracker = StoppingTracker(config.train.stop, seeds)
  tracker.replay(history)
  time_offset = max((row["wall_time"] for row in history), default=0.0)
  active = np.asarray(jax.device_get(state.active))
  start_time = time.time()
  show_progress = config.logging.progress_bar and sys.stderr.isatty()
  progress = None

  try:
    step = start_step
    while step < total_steps and active.any():
      if progress is None:
        progress = tqdm.tqdm(total=steps_per_epoch, initial=step % steps_per_epoch,
                             desc=f"epoch {step // steps_per_epoch + 1}",
                             disable=not show_progress, leave=False)
      state = train_fn(state, train_images, train_labels)
      step += 1
      progress.update()
      if _is_log_step(step, steps_per_epoch, total_steps, config.train.log_every_steps):
        evals = {name: eval_fn(state, *arrays) for name, arrays in eval_data.items()}
        state, train_values = measure_fn(state)
        train_values, evals = jax.device_get((train_values, evals))
        losses = train_values["loss"][active]
        if not np.all(np.isfinite(losses)):
          raise TrainingDivergedError(
              f"train loss became {losses} at step {step} (epoch {step / steps_per_epoch:.2f});"
              f" the checkpoints in {checkpoints.checkpoint_dir(workdir)} up to the previous "
              "one are intact. Lower config.optim.learning_rate or check the data.")
        rows = _rows(step, round(step / steps_per_epoch, 4),
                     time_offset + time.time() - start_time, seeds, active, train_values,
                     evals, float(schedule(step - 1)))
        log.write(rows, len(seeds))
        progress.set_postfix({k: f"{rows[0][k]:.4f}" for k in ("loss", "accuracy")})
        logging.info("step %d: %s", step, {
            (r["seed"], r["split"]): round(r["accuracy"], 4) for r in rows})
        stopping = tracker.update(rows)
        if stopping:
          active = np.asarray([seed not in tracker.stopped for seed in seeds])
          state = state.replace(active=jax.device_put(active, state_sharding))
      if step % steps_per_epoch == 0:
        progress.close()
        progress = None
      if _is_checkpoint_step(step, steps_per_epoch, total_steps, config) or not active.any():
        checkpoints.save(manager, step, state)
  except TrainingDivergedError as error:
    # Deterministic: re-running would diverge again, so the run is over; say so.
    run_log.write_summary(workdir, {"final_step": step, "diverged": str(error)})
    raise
  finally:
    if progress is not None:
      progress.close()
    manager.wait_until_finished()
    manager.close()
    log.close()

  if config.logging.figures:
    plots.plot_run(workdir)
  final = {(row["seed"], row["split"]): row for row in run_log.read_metrics(workdir)}
  run_log.write_summary(workdir, {
      "final_step": step,
      "final": {f"{seed}/{split}": row for (seed, split), row in final.items()},
      "stopped": {str(seed): dataclasses.asdict(stop) for seed, stop in tracker.stopped.items()},
  })
  return RunResult(state=state, final=final, stopped=tracker.stopped, jitted=jitted)
