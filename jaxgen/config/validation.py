"""Checks a config before any data is loaded or any step is compiled.

Every error is a `ConfigError` that names the offending field and, where there is a fixed set,
the valid choices.
"""

import difflib
import os
import re

import ml_collections

from jaxgen import metrics, models, precision, seed_strategy
from jaxgen.config import saved, schema
from jaxgen.config.errors import ConfigError
from jaxgen.data import corruptions
from jaxgen.data.pipeline import TEST_SPLIT_CHOICES, VALIDATION_SPLIT_CHOICES
from jaxgen.data.preprocess import NORMALIZATIONS
from jaxgen.data.sources import DATASETS
from jaxgen.metrics import RWC_VARIANTS
from jaxgen.optim.keras import BASES
from jaxgen.optim.optimizers import OPTIMIZERS, WEIGHT_DECAY_CONVENTIONS
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


def _require(ok: bool, field: str, value, valid: str) -> None:
  if not ok:
    raise ConfigError(f"config.{field}={value!r} must be {valid}")


def _in(config: ml_collections.ConfigDict, field: str, low: float, high: float | None = None,
        low_open: bool = False, high_open: bool = False) -> None:
  """Raises ConfigError unless config.<field> lies in the interval from low to high."""
  value = config
  for part in field.split("."):
    value = value[part]
  ok = (value > low if low_open else value >= low) and (
      high is None or (value < high if high_open else value <= high))
  if high is None:
    valid = f"{'>' if low_open else '>='} {low}"
  else:
    valid = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
  _require(ok, field, value, valid)


def _epochs(value, field: str) -> None:
  _require(all(isinstance(e, int) and not isinstance(e, bool) and e >= 0 for e in value), field,
           tuple(value), "a tuple of epochs (ints >= 0)")


def _regex(value: str, field: str) -> None:
  try:
    re.compile(value)
  except re.error as error:
    raise ConfigError(f"config.{field}={value!r} is not a valid regular expression "
                      f"({error})") from None


def _check_ranges(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError for a numeric field outside the range where it means something, or a
  path or pattern field that cannot be used; field by field, in the schema's order."""
  data = config.data
  _in(config, "data.train_per_class", 0)
  _require(all(s > 0 for s in data.std), "data.std", tuple(data.std), "all > 0")
  _in(config, "data.corruption.num_kept_classes", 0)
  _choice(data.corruption.gaussian_stats, corruptions.GAUSSIAN_STATS,
          "data.corruption.gaussian_stats")
  if data.get("data_dir"):
    _require(os.path.isdir(data.data_dir), "data.data_dir", data.data_dir,
             "an existing directory (\"\" for the tfds default ~/tensorflow_datasets)")
  _in(config, "augment.crop_padding", 0)

  optim = config.optim
  if not optim.copy_rotation_from:  # With recorded rotations, Layca ignores learning_rate.
    _in(config, "optim.learning_rate", 0, low_open=True)
  else:
    _require(os.path.isdir(optim.copy_rotation_from), "optim.copy_rotation_from",
             optim.copy_rotation_from, "the workdir of an existing run")
  _in(config, "optim.warmup_epochs", 0)
  _in(config, "optim.warmup_start_factor", 0, 1)
  _in(config, "optim.alpha", -1, 1, low_open=True, high_open=True)
  for field in ("momentum", "b1", "b2", "rms_decay"):
    _in(config, f"optim.{field}", 0, 1, high_open=True)
  _in(config, "optim.eps", 0, low_open=True)
  _in(config, "optim.decay_factor", 0, low_open=True)
  _epochs(optim.milestones, "optim.milestones")
  _choice(optim.base, BASES, "optim.base")
  for field in ("optim.layer_rule", "optim.weight_decay_rule", "metrics.layer_rule"):
    _regex(config[field.split(".")[0]][field.split(".")[1]], field)
  for rule in optim.multiplier_rules:
    _require(len(rule) == 2 and isinstance(rule[0], str) and isinstance(rule[1], int | float)
             and rule[1] >= 0, "optim.multiplier_rules", tuple(optim.multiplier_rules),
             "((regex, multiplier >= 0), ...)")
    _regex(rule[0], "optim.multiplier_rules")

  for field in ("target_train_loss", "plateau_epochs", "plateau_min_delta", "fail_check_epoch"):
    _in(config, f"train.stop.{field}", 0)

  for field in ("every_epochs", "snapshot_every_epochs", "snapshot_until_epoch"):
    _in(config, f"checkpoint.{field}", 0)  # 0: none (every_epochs: only snapshots and the end).
  _epochs(config.checkpoint.snapshot_epochs, "checkpoint.snapshot_epochs")
  _in(config, "sharding.seed_axis_size", 1)


# A builder argument annotated with one of these must hold a value of that type.
_SIMPLE_TYPES = {float: (int, float), int: (int,), bool: (bool,), str: (str,)}


def _check_builder_types(registry, name: str, section, prefix: str) -> None:
  """Raises ConfigError for an unknown entry, or a builder argument of the wrong type."""
  for key, parameter in registry.arguments(name).items():
    allowed = _SIMPLE_TYPES.get(parameter.annotation)
    if key not in section or allowed is None:
      continue
    value = section[key]
    if not isinstance(value, allowed) or (bool not in allowed and isinstance(value, bool)):
      raise ConfigError(f"config.{prefix}.{key}={value!r} must be a "
                        f"{parameter.annotation.__name__} ({registry.kind} {name!r})")


def _check_known_fields(config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError for a field the schema does not have (a misspelt override or a
  field set on a config in Python); `config.model` holds the model builder's arguments and
  is checked against its signature instead."""
  reference = saved.flatten(saved.to_dict(schema.get_config()))
  for key in saved.flatten(saved.to_dict(config)):
    if key.startswith("model.") or key in reference:
      continue
    section = key.rpartition(".")[0]
    valid = [k.rpartition(".")[2] for k in reference if k.rpartition(".")[0] == section]
    hint = difflib.get_close_matches(key.rpartition(".")[2], valid, n=1)
    raise ConfigError(f"config.{key} is not a config field" +
                      (f" (did you mean config.{section}.{hint[0]}?)" if hint else "") +
                      f"; the fields of config.{section} are: {', '.join(sorted(valid))}")


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

  _check_known_fields(config)
  _check_builder_types(DATASETS, config.data.name, config.data, "data")
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
  _choice(corruption.validation_split, VALIDATION_SPLIT_CHOICES,
          "data.corruption.validation_split")
  if not 0.0 <= corruption.level <= 1.0:
    raise ConfigError(f"config.data.corruption.level={corruption.level} must be in [0, 1]")

  models.MODELS.check_arguments(config.model.name, model_kwargs(config.model), "model")
  _check_builder_types(models.MODELS, config.model.name, config.model, "model")

  _check_builder_types(OPTIMIZERS, config.optim.name, config.optim, "optim")
  _check_builder_types(SCHEDULES, config.optim.schedule, config.optim, "optim")
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
  _choice(config.train.compute_dtype, precision.COMPUTE_DTYPES, "train.compute_dtype")
  for field in ("target_train_accuracy", "target_test_accuracy", "fail_below_accuracy"):
    value = config.train.stop[field]
    if not 0.0 <= value <= 1.0:
      raise ConfigError(f"config.train.stop.{field}={value} must be a fraction in [0, 1] "
                        "(0.94 for 94%)")
  if config.data.normalization == "fixed" and not (config.data.mean and config.data.std):
    raise ConfigError("config.data.normalization='fixed' needs config.data.mean and "
                      "config.data.std (one value, or one per channel)")

  for name in config.metrics.names:
    _check_builder_types(metrics.METRICS, name, config.metrics, "metrics")
  _choice(config.metrics.rwc_variant, RWC_VARIANTS, "metrics.rwc_variant")
  _choice(config.sharding.seed_strategy, seed_strategy.STRATEGIES, "sharding.seed_strategy")
  _check_ranges(config)
