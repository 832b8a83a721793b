"""The optimizers a config can name (`config.optim.name`) and `build_optimizer`, which chains
weight decay, layer-wise multipliers and gradient noise around the chosen one.

Every optimizer is a builder `fn(learning_rate, **settings)` whose settings are typed keyword
arguments, fed by name from `config.optim`; their defaults here are the config's defaults.
"""

from collections.abc import Sequence

import numpy as np
import optax

from jaxgen import path_rules
from jaxgen.config.errors import ConfigError
from jaxgen.optim import keras as keras_lib
from jaxgen.optim import layer_rotation as layca_lib
from jaxgen.optim.gradient_noise import add_gradient_noise
from jaxgen.optim.multipliers import layerwise_multipliers, multiplier_tree
from jaxgen.optim.schedules import build_schedule
from jaxgen.registry import Registry

KERAS_EPSILON = keras_lib.KERAS_EPSILON
KERNEL_RULE = path_rules.KERNEL_RULE
WEIGHT_DECAY_CONVENTIONS = ("pytorch", "keras")


OPTIMIZERS: Registry = Registry("optimizer", field="optim.name",
                                runtime_args=("learning_rate", "recorded"))


@OPTIMIZERS.register("sgd")
def sgd(learning_rate: optax.ScalarOrSchedule, momentum: float = 0.9,
        nesterov: bool = False) -> optax.GradientTransformation:
  """SGD with (Nesterov) momentum; momentum 0 is plain SGD."""
  return optax.sgd(learning_rate, momentum=momentum or None, nesterov=nesterov)


@OPTIMIZERS.register("adam")
def adam(learning_rate: optax.ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999,
         eps: float = KERAS_EPSILON) -> optax.GradientTransformation:
  """optax Adam; eps defaults to the Keras 1e-7."""
  return optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)


@OPTIMIZERS.register("rmsprop")
def rmsprop(learning_rate: optax.ScalarOrSchedule, rms_decay: float = 0.9,
            eps: float = KERAS_EPSILON, momentum: float = 0.9) -> optax.GradientTransformation:
  """optax RMSprop with its decay `rms_decay` and optional momentum (0 = none)."""
  return optax.rmsprop(learning_rate, decay=rms_decay, eps=eps, momentum=momentum or None)


@OPTIMIZERS.register("adagrad")
def adagrad(learning_rate: optax.ScalarOrSchedule,
            eps: float = KERAS_EPSILON) -> optax.GradientTransformation:
  """optax Adagrad from a zero accumulator."""
  return optax.adagrad(learning_rate, initial_accumulator_value=0.0, eps=eps)


@OPTIMIZERS.register("keras")
def keras(learning_rate: optax.ScalarOrSchedule, base: str = "sgd", momentum: float = 0.9,
          nesterov: bool = False, b1: float = 0.9, b2: float = 0.999, rms_decay: float = 0.9,
          eps: float = KERAS_EPSILON) -> optax.GradientTransformation:
  """The base optimizer `base` as Keras 2.1 computes it (layer-rotation baselines).

  See `jaxgen.optim.keras.keras_base_step`; momentum 0 means unset (sgd_amom then uses 0.9).
  """
  return keras_lib.keras_base_step(base, learning_rate, momentum or None, nesterov, b1=b1,
                                   b2=b2, rms_decay=rms_decay, eps=eps)


@OPTIMIZERS.register("layca")
def layca(learning_rate: optax.ScalarOrSchedule,
          recorded: tuple[list[str], np.ndarray] | None = None,
          base: str = "sgd", momentum: float = 0.9, nesterov: bool = False, b1: float = 0.9,
          b2: float = 0.999, rms_decay: float = 0.9, eps: float = KERAS_EPSILON,
          layer_rule: str = KERNEL_RULE, train_non_layers: bool = False, alpha: float = 0.0,
          multiplier_rules: Sequence = ()) -> optax.GradientTransformation:
  """Layca on top of the Keras base optimizer `base` (`jaxgen.optim.layer_rotation.layca`).

  Layer-wise multipliers (`alpha`, the paper's parameterisation, or `multiplier_rules`) scale
  each layer's rate ρ_l inside Layca. With `recorded` rotations (another run's, read by the
  trainer from `optim.copy_rotation_from`), each layer's per-step rate reproduces that run's
  rotation and `learning_rate` is ignored; the layers must be the recorded ones.
  `train_non_layers` trains biases and BatchNorm with the plain base step (the original froze
  them).
  """
  multipliers = None
  if alpha or multiplier_rules:
    def multipliers(params):
      return multiplier_tree(params, alpha=alpha or None, rules=list(multiplier_rules) or None,
                             layer_rule=layer_rule)
  rates = None
  if recorded is not None:
    paths, distances = recorded
    rates = np.asarray(layca_lib.rotation_to_rate(distances))
    learning_rate = 1.0  # The recorded rates are the whole per-layer rate.
  tx = layca_lib.layca(base, learning_rate, momentum or None, nesterov, b1=b1, b2=b2,
                       rms_decay=rms_decay, eps=eps, layer_rule=layer_rule,
                       train_non_layers=train_non_layers, multipliers=multipliers,
                       recorded_rates=rates)
  if recorded is None:
    return tx
  return optax.chain(_check_layers(paths, layer_rule), tx)


@OPTIMIZERS.register("sgd_normalized")
def sgd_normalized(learning_rate: optax.ScalarOrSchedule,
                   eps: float = KERAS_EPSILON) -> optax.GradientTransformation:
  """p <- p - lr * g / |g| per tensor (a layer-rotation baseline)."""
  return keras_lib.sgd_normalized(learning_rate, eps=eps)


def _check_layers(paths: list[str], layer_rule: str) -> optax.GradientTransformation:
  """Fails at init unless the model's layers are those whose rotations were recorded."""

  def init_fn(params):
    model_paths = path_rules.layer_paths(params, layer_rule)
    if model_paths != paths:
      raise ConfigError(f"config.optim.copy_rotation_from recorded the layers {paths}, but "
                        f"this model's layers are {model_paths}")
    return optax.EmptyState()

  return optax.GradientTransformation(init_fn, lambda updates, state, params=None: (
      updates, state))


def decoupled_weight_decay(optim) -> float:
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


def build_optimizer(optim, steps_per_epoch: int,
                    recorded: tuple[list[str], np.ndarray] | None = None
                    ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """The optimizer of `config.optim` and its learning-rate schedule (for logging).

  The chain is: gradient noise (`optim.gradient_noise`; its `update` then needs the extra
  argument `noise_key`), weight decay added to the gradient for the parameters matching
  `optim.weight_decay_rule` (PyTorch's convention, or Keras's 2λ), the optimizer, and outside
  Layca the layer-wise multipliers (`optim.alpha` or `optim.multiplier_rules`, which must
  cover every parameter) scaling each layer's step.

  Args:
    optim: the `config.optim` section.
    steps_per_epoch: optimizer steps per epoch (schedules are in epochs).
    recorded: with `optim.copy_rotation_from`, the rotations read from that run (Layca only);
      they replace `optim.learning_rate` and its schedule.

  Returns:
    (the optax transformation, the schedule of the learning rate it logs).
  """
  schedule = build_schedule(optim, steps_per_epoch)
  if optim.copy_rotation_from:
    if optim.name != "layca":
      raise ConfigError(f"config.optim.copy_rotation_from drives Layca; it needs "
                        f"config.optim.name='layca', not {optim.name!r}")
    if recorded is None:
      raise ConfigError("config.optim.copy_rotation_from is set but no recorded rotations "
                        "were given (read them with run_log.read_step_rotations)")
    schedule = optax.constant_schedule(1.0)  # What is logged: the rates replace the lr.
  runtime = {"recorded": recorded} if optim.name == "layca" else {}
  tx = OPTIMIZERS.build(optim.name, optim, learning_rate=schedule, **runtime)
  if optim.name != "layca" and (optim.alpha or optim.multiplier_rules):
    # Outside Layca a multiplier scales the step itself.
    tx = optax.chain(tx, layerwise_multipliers(
        alpha=optim.alpha or None, rules=list(optim.multiplier_rules) or None,
        layer_rule=optim.layer_rule))
  decay = decoupled_weight_decay(optim)
  if decay:
    decay_mask = lambda params: path_rules.mask(params, optim.weight_decay_rule)
    tx = optax.chain(optax.add_decayed_weights(decay, mask=decay_mask), tx)
  if optim.gradient_noise:
    tx = optax.chain(add_gradient_noise(optim.gradient_noise), tx)
  return tx, schedule
