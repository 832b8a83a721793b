"""Builds the optax optimizer of `config.optim`."""

import functools

import ml_collections
import optax

from jaxgen import path_rules
from jaxgen.optim import layca as layca_lib
from jaxgen.optim.multipliers import layerwise_multipliers, multiplier_tree
from jaxgen.optim.schedules import build_schedule
from jaxgen.registry import ConfigError, Registry

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


@OPTIMIZERS.register("layca")
def layca(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """Layca on top of `optim.base`; layer-wise multipliers scale each layer's rate inside it."""
  multipliers = None
  if optim.alpha or optim.multiplier_rules:
    multipliers = functools.partial(multiplier_tree, alpha=optim.alpha or None,
                                    rules=list(optim.multiplier_rules) or None,
                                    layer_rule=optim.layer_rule)
  return layca_lib.layca(
      optim.base, lr, momentum=optim.momentum or None, nesterov=optim.nesterov, b1=optim.b1,
      b2=optim.b2, rms_decay=optim.rms_decay, eps=optim.eps, layer_rule=optim.layer_rule,
      train_non_layers=optim.train_non_layers, multipliers=multipliers)


@OPTIMIZERS.register("keras")
def keras(lr: optax.Schedule, optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """`optim.base` exactly as Keras 2.1 computes it (the layer-rotation baselines)."""
  return layca_lib.keras_base_step(
      optim.base, lr, momentum=optim.momentum or None, nesterov=optim.nesterov, b1=optim.b1,
      b2=optim.b2, rms_decay=optim.rms_decay, eps=optim.eps)


@OPTIMIZERS.register("sgd_normalized")
def sgd_normalized(lr: optax.Schedule,
                   optim: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """p <- p - lr * g / |g| per tensor."""
  return layca_lib.sgd_normalized(lr, eps=optim.eps)


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
  """
  schedule = build_schedule(optim, steps_per_epoch)
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
