"""Builds the optax optimizer of `config.optim`."""

import functools

import ml_collections
import numpy as np
import optax

from jaxgen import path_rules, run_log
from jaxgen.config import ConfigError
from jaxgen.optim import layca as layca_lib
from jaxgen.optim.multipliers import layerwise_multipliers, multiplier_tree
from jaxgen.optim.schedules import build_schedule
from jaxgen.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer", field="optim.name")
WEIGHT_DECAY_CONVENTIONS = ("pytorch", "keras")


@OPTIMIZERS.register("sgd")
def sgd(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """SGD with optional (Nesterov) momentum; momentum 0 is plain SGD."""
  return optax.sgd(lr, momentum=optim.momentum or None, nesterov=optim.nesterov)


@OPTIMIZERS.register("adam")
def adam(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  return optax.adam(lr, b1=optim.b1, b2=optim.b2, eps=optim.eps)


@OPTIMIZERS.register("rmsprop")
def rmsprop(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  return optax.rmsprop(lr, decay=optim.rms_decay, eps=optim.eps, momentum=optim.momentum or None)


@OPTIMIZERS.register("adagrad")
def adagrad(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  return optax.adagrad(lr, initial_accumulator_value=0.0, eps=optim.eps)


def _keras_base_kwargs(optim: ml_collections.ConfigDict) -> dict:
  """The base optimizer's hyper-parameters shared by "layca" and "keras" (momentum 0 = unset,
  so that sgd_amom falls back to its default 0.9)."""
  return {"momentum": optim.momentum or None, "nesterov": optim.nesterov, "b1": optim.b1,
          "b2": optim.b2, "rms_decay": optim.rms_decay, "eps": optim.eps}


@OPTIMIZERS.register("layca")
def layca(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Layca on top of `optim.base`; layer-wise multipliers scale each layer's rate inside it."""
  multipliers = None
  if optim.alpha or optim.multiplier_rules:
    multipliers = functools.partial(multiplier_tree, alpha=optim.alpha or None,
                                    rules=list(optim.multiplier_rules) or None,
                                    layer_rule=optim.layer_rule)
  recorded_rates = None
  if optim.copy_rotation_from:
    paths, recorded_rates = recorded_layca_rates(optim.copy_rotation_from, optim.layer_rule)
    lr = 1.0  # The recorded rates are the whole per-layer rate.
  tx = layca_lib.layca(
      optim.base, lr, **_keras_base_kwargs(optim), layer_rule=optim.layer_rule,
      train_non_layers=optim.train_non_layers, multipliers=multipliers,
      recorded_rates=recorded_rates)
  if recorded_rates is None:
    return tx
  return optax.chain(_check_layers(paths, optim.layer_rule, optim.copy_rotation_from), tx)


@OPTIMIZERS.register("keras")
def keras(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """`optim.base` exactly as Keras 2.1 computes it (the layer-rotation baselines)."""
  return layca_lib.keras_base_step(optim.base, lr, **_keras_base_kwargs(optim))


@OPTIMIZERS.register("sgd_normalized")
def sgd_normalized(lr: optax.Schedule,
                   optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """p <- p - lr * g / |g| per tensor."""
  return layca_lib.sgd_normalized(lr, eps=optim.eps)


# --- Copying a run's per-step rotations (spec: "copying an adaptive method's rotation rates").

STEP_ROTATION = "step_rotation"


def recorded_layca_rates(workdir: str, layer_rule: str) -> tuple[list[str], np.ndarray]:
  """Per-step per-layer Layca rates that reproduce the rotations recorded in `workdir`.

  The run in `workdir` must have logged the "step_rotation" metric at every step
  (`train.log_every_steps=1`). Its row at step t+1 holds each layer's cosine distance d
  across step t; `layca.rotation_to_rate` turns it into the rate tan(arccos(1 - d)) with
  which one SGD-Layca step rotates the layer by the same angle. A multi-seed run is read at
  its lowest seed.

  Args:
    workdir: the recorded run's work directory.
    layer_rule: regex selecting the layers (Layca's `optim.layer_rule`).

  Returns:
    (layer paths in network order, rates of shape (steps, num_layers) in that column order).

  Raises:
    ConfigError: if the workdir holds no such per-step rows.
  """
  field = "config.optim.copy_rotation_from"
  prefix = STEP_ROTATION + "/"
  rows = [row for row in run_log.read_metrics(workdir) if row["split"] == "train"]
  if rows:
    seed = min(row["seed"] for row in rows)
    rows = sorted((row for row in rows if row["seed"] == seed), key=lambda row: row["step"])
  keys = [key for key in (rows[0] if rows else {}) if key.startswith(prefix)]
  paths = path_rules.layer_paths({key.removeprefix(prefix): 0 for key in keys}, layer_rule)
  steps = [row["step"] for row in rows]
  if not paths or steps != list(range(1, len(rows) + 1)):
    raise ConfigError(
        f"{field}={workdir!r} holds no per-step layer rotations: record them with "
        f"train.log_every_steps=1 and '{STEP_ROTATION}' in metrics.names (found "
        f"{len(rows)} train rows, {len(paths)} '{prefix}*' layers matching {layer_rule!r}).")
  distances = np.asarray([[row[prefix + path] for path in paths] for row in rows], np.float32)
  return paths, np.asarray(layca_lib.rotation_to_rate(distances))


def _check_layers(paths: list[str], layer_rule: str,
                  workdir: str) -> optax.GradientTransformation:
  """Fails at init unless the model's layers are those whose rotations were recorded."""

  def init_fn(params):
    model_paths = path_rules.layer_paths(params, layer_rule)
    if model_paths != paths:
      raise ConfigError(f"config.optim.copy_rotation_from={workdir!r} recorded the layers "
                        f"{paths}, but this model's layers are {model_paths}")
    return optax.EmptyState()

  return optax.GradientTransformation(init_fn, lambda updates, state, params=None: (
      updates, state))


def decoupled_weight_decay(optim: ml_collections.ConfigDict) -> float:
  """The coefficient to add to the gradient (PyTorch's convention, optax's
  `add_decayed_weights`). A Keras `l2(λ)` loss term has gradient 2λw, hence the factor 2."""
  if optim.weight_decay_convention not in WEIGHT_DECAY_CONVENTIONS:
    raise ConfigError(
        f"config.optim.weight_decay_convention={optim.weight_decay_convention!r} is not "
        f"known; valid choices: {', '.join(WEIGHT_DECAY_CONVENTIONS)}")
  if optim.weight_decay < 0:
    raise ConfigError(f"config.optim.weight_decay={optim.weight_decay} is negative")
  factor = 2.0 if optim.weight_decay_convention == "keras" else 1.0
  return factor * optim.weight_decay


def build_optimizer(optim: ml_collections.ConfigDict,
                    steps_per_epoch: int) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimizer and its learning-rate schedule (for logging) from `config.optim`.

  Layer-wise learning-rate multipliers (`optim.alpha`, the layer-rotation paper's
  parameterisation, or `optim.multiplier_rules`, (regex, multiplier) pairs that must cover
  every parameter) scale each layer's step, or each layer's rate inside Layca. Weight decay,
  when non-zero, is added to the gradient before the optimizer (PyTorch's
  convention), for the parameters whose path matches `optim.weight_decay_rule`.
  With `optim.copy_rotation_from` (Layca only), the recorded per-step rotations of another
  run set every layer's rate, in place of `optim.learning_rate` and its schedule.
  """
  schedule = build_schedule(optim, steps_per_epoch)
  if optim.copy_rotation_from:
    if optim.name != "layca":
      raise ConfigError(f"config.optim.copy_rotation_from drives Layca; it needs "
                        f"config.optim.name='layca', not {optim.name!r}")
    schedule = optax.constant_schedule(1.0)  # What is logged: the rates replace the lr.
  tx = OPTIMIZERS.get(optim.name)(schedule, optim)
  if optim.name != "layca" and (optim.alpha or optim.multiplier_rules):
    # Outside Layca a multiplier scales the step itself.
    tx = optax.chain(tx, layerwise_multipliers(
        alpha=optim.alpha or None, rules=list(optim.multiplier_rules) or None,
        layer_rule=optim.layer_rule))
  decay = decoupled_weight_decay(optim)
  if decay:
    decay_mask = lambda params: path_rules.mask(params, optim.weight_decay_rule)
    tx = optax.chain(optax.add_decayed_weights(decay, mask=decay_mask), tx)
  return tx, schedule
