"""Builds the optax optimizer of `config.optim`."""

import ml_collections
import optax

from jaxgen import path_rules
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

  Weight decay, when non-zero, is added to the gradient before the optimizer (PyTorch's
  convention), for the parameters whose path matches `optim.weight_decay_rule`.
  """
  schedule = build_schedule(optim, steps_per_epoch)
  tx = OPTIMIZERS.get(optim.name)(schedule, optim)
  decay = decoupled_weight_decay(optim)
  if decay:
    decay_mask = lambda params: path_rules.mask(params, optim.weight_decay_rule)
    tx = optax.chain(optax.add_decayed_weights(decay, mask=decay_mask), tx)
  return tx, schedule
