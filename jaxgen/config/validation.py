"""Checks a config before any data is loaded or any step is compiled.

Every error is a `ConfigError` that names the offending field and, where there is a fixed set,
the valid choices.
"""

import inspect

import ml_collections

from jaxgen import metrics, models
from jaxgen.config import ConfigError
from jaxgen.data import corruptions
from jaxgen.data.pipeline import TEST_SPLIT_CHOICES
from jaxgen.data.preprocess import NORMALIZATIONS
from jaxgen.data.sources import DATASETS
from jaxgen.metrics import RWC_VARIANTS
from jaxgen.optim.factory import OPTIMIZERS, WEIGHT_DECAY_CONVENTIONS
from jaxgen.optim.schedules import SCHEDULES

PAD_MODES = ("constant", "reflect", "edge", "symmetric", "wrap")


def _choice(value: str, choices, field: str) -> None:
  if value not in choices:
    raise ConfigError(f"config.{field}={value!r} is not known; valid choices: "
                      f"{', '.join(choices)}")


def _positive(value, field: str, allow_zero: bool = False) -> None:
  if value < 0 or (value == 0 and not allow_zero):
    bound = ">= 0" if allow_zero else "> 0"
    raise ConfigError(f"config.{field}={value} must be {bound}")


def model_kwargs(model: ml_collections.ConfigDict) -> dict:
  """`config.model` without its name: the keyword arguments of the model builder."""
  kwargs = model.to_dict()
  kwargs.pop("name")
  return kwargs


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError for the first invalid field of `config`."""
  seeds = list(config.seeds)
  if not seeds or len(set(seeds)) != len(seeds) or not all(isinstance(s, int) for s in seeds):
    raise ConfigError(f"config.seeds={config.seeds} must be a non-empty tuple of distinct ints")

  DATASETS.get(config.data.name)
  _choice(config.data.normalization, NORMALIZATIONS, "data.normalization")
  _positive(config.data.validation_size, "data.validation_size", allow_zero=True)
  _positive(config.data.crop_size, "data.crop_size", allow_zero=True)
  _positive(config.data.resize, "data.resize", allow_zero=True)
  _choice(config.augment.pad_mode, PAD_MODES, "augment.pad_mode")
  corruption = config.data.corruption
  _choice(corruption.kind, corruptions.CORRUPTIONS, "data.corruption.kind")
  _choice(corruption.label_noise, corruptions.LABEL_NOISE_CONVENTIONS,
          "data.corruption.label_noise")
  _choice(corruption.test_split, TEST_SPLIT_CHOICES, "data.corruption.test_split")
  if not 0.0 <= corruption.level <= 1.0:
    raise ConfigError(f"config.data.corruption.level={corruption.level} must be in [0, 1]")

  builder = models.MODELS.get(config.model.name)
  parameters = inspect.signature(builder).parameters
  for key in model_kwargs(config.model):
    if key not in parameters or key == "num_classes":
      valid = [p for p in parameters if p != "num_classes"]
      raise ConfigError(f"config.model.{key} is not an argument of model "
                        f"{config.model.name!r}; valid arguments: {', '.join(valid)}")

  OPTIMIZERS.get(config.optim.name)
  SCHEDULES.get(config.optim.schedule)
  _positive(config.optim.learning_rate, "optim.learning_rate", allow_zero=True)
  _positive(config.optim.weight_decay, "optim.weight_decay", allow_zero=True)
  _positive(config.optim.gradient_noise, "optim.gradient_noise", allow_zero=True)
  _choice(config.optim.weight_decay_convention, WEIGHT_DECAY_CONVENTIONS,
          "optim.weight_decay_convention")

  _positive(config.train.batch_size, "train.batch_size")
  _positive(config.train.eval_batch_size, "train.eval_batch_size")
  if not all(isinstance(k, int) and k >= 1 for k in config.train.eval_top_k):
    raise ConfigError(f"config.train.eval_top_k={config.train.eval_top_k} must be a tuple of "
                      "ints >= 1")
  _positive(config.train.num_epochs, "train.num_epochs")
  _positive(config.train.log_every_steps, "train.log_every_steps", allow_zero=True)
  for field in ("target_train_accuracy", "target_test_accuracy", "fail_below_accuracy"):
    value = config.train.stop[field]
    if not 0.0 <= value <= 1.0:
      raise ConfigError(f"config.train.stop.{field}={value} must be a fraction in [0, 1] "
                        "(0.94 for 94%)")
  if config.data.normalization == "fixed" and not (config.data.mean and config.data.std):
    raise ConfigError("config.data.normalization='fixed' needs config.data.mean and "
                      "config.data.std (one value, or one per channel)")

  for name in config.metrics.names:
    metrics.METRICS.get(name)
  _choice(config.metrics.rwc_variant, RWC_VARIANTS, "metrics.rwc_variant")
