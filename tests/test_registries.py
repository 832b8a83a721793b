"""Every registry follows one contract: typed builder arguments with defaults, fed from the
config section by name; every entry builds from the default config; bad values are named."""

import inspect

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxgen import config as config_lib
from jaxgen.config import ConfigError
from jaxgen.config.validation import validate_config
from jaxgen.data.sources import DATASETS
from jaxgen.metrics import METRICS
from jaxgen.models import MODELS
from jaxgen.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_schedule

REGISTRIES = {"data": DATASETS, "optim": OPTIMIZERS, "metrics": METRICS}
PARAMS = {"Conv_0": {"kernel": jnp.ones((3, 3, 2, 4)), "bias": jnp.zeros(4)},
          "Dense_0": {"kernel": jnp.arange(8.0).reshape(4, 2) - 3.0, "bias": jnp.zeros(2)}}
OFFLINE_DATASETS = ("digits", "mnist_embedded")


@pytest.mark.parametrize("registry", [DATASETS, OPTIMIZERS, SCHEDULES, METRICS, MODELS],
                         ids=lambda r: r.kind)
def test_every_builder_argument_is_typed_and_has_a_default(registry):
  for name in registry.names():
    for key, parameter in registry.arguments(name).items():
      assert parameter.annotation is not inspect.Parameter.empty, (name, key)
      assert parameter.default is not inspect.Parameter.empty, (name, key)


@pytest.mark.parametrize("section, registries", [
    ("data", [DATASETS]), ("optim", [OPTIMIZERS, SCHEDULES]), ("metrics", [METRICS])])
def test_the_schema_holds_every_builder_default(section, registries):
  schema = config_lib.get_config()[section]
  for registry in registries:
    for key, value in registry.defaults().items():
      assert schema[key] == value, (registry.kind, key)


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_builds_from_the_default_config_and_takes_a_step(name):
  config = config_lib.get_config()
  config.optim.name = name
  if name == "keras":
    config.optim.momentum = 0.0  # Keras sgd without momentum: the plain step.
  validate_config(config)
  tx, schedule = build_optimizer(config.optim, steps_per_epoch=10)
  grads = jax.tree.map(jnp.ones_like, PARAMS)
  updates, _ = tx.update(grads, tx.init(PARAMS), PARAMS)
  moved = optax.apply_updates(PARAMS, updates)
  assert float(schedule(0)) == pytest.approx(config.optim.learning_rate)
  assert not np.allclose(moved["Dense_0"]["kernel"], PARAMS["Dense_0"]["kernel"])


def test_an_optimizer_reads_its_settings_from_the_section_by_name():
  config = config_lib.get_config().optim
  config.name, config.momentum, config.learning_rate = "sgd", 0.0, 0.5
  tx, _ = build_optimizer(config, steps_per_epoch=10)
  grads = jax.tree.map(jnp.ones_like, PARAMS)
  state = tx.init(PARAMS)
  first, state = tx.update(grads, state, PARAMS)
  second, _ = tx.update(grads, state, PARAMS)
  # No momentum: both steps are -lr * g; with the default momentum 0.9 the second would grow.
  np.testing.assert_allclose(second["Dense_0"]["kernel"], -0.5 * np.ones((4, 2)))
  np.testing.assert_allclose(first["Dense_0"]["kernel"], second["Dense_0"]["kernel"])


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_every_schedule_builds_from_the_default_config(name):
  optim = config_lib.get_config().optim
  optim.schedule, optim.milestones, optim.decay_factor = name, (1,), 0.5
  schedule = build_schedule(optim, steps_per_epoch=10)
  decayed = {"constant": 1.0, "step": 0.5, "exponential": 0.5}[name]
  assert float(schedule(0)) == pytest.approx(optim.learning_rate)
  assert float(schedule(10)) == pytest.approx(optim.learning_rate * decayed)


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_builds_from_the_default_config_and_measures_each_layer(name):
  section = config_lib.get_config().metrics
  reference = METRICS.metadata(name)["reference"]
  assert reference in ("initial", "previous", None)
  values = METRICS.build(name, section, PARAMS, None if reference is None else PARAMS)
  assert set(values) <= {"Conv_0/kernel", "Dense_0/kernel", "net"} and values
  assert all(np.isfinite(float(v)) for v in values.values())


@pytest.mark.parametrize("name", OFFLINE_DATASETS)
def test_every_offline_dataset_builds_from_the_default_config(name):
  raw = DATASETS.build(name, config_lib.get_config().data)
  assert raw.train_images.ndim == 4 and len(raw.train_images) == len(raw.train_labels)
  assert set(np.unique(raw.test_labels)) == set(range(raw.num_classes))


@pytest.mark.parametrize("field, value, message", [
    ("optim.momentum", "high", r"config\.optim\.momentum='high' must be a float"),
    ("optim.nesterov", 1, r"config\.optim\.nesterov=1 must be a bool"),
    ("metrics.rwc_variant", 3, r"config\.metrics\.rwc_variant=3 must be a str"),
    ("data.data_dir", None, r"config\.data\.data_dir=None must be a str"),
])
def test_a_builder_argument_of_the_wrong_type_is_named(field, value, message):
  # A config built in Python (e.g. a section replaced by a dict) is not type-locked the way
  # command-line overrides are.
  raw = config_lib.to_dict(config_lib.get_config())
  raw["metrics"]["names"] = ["relative_weight_change"]
  section, key = field.split(".")
  raw[section][key] = value
  config = ml_collections.ConfigDict(raw)
  with pytest.raises(ConfigError, match=message):
    validate_config(config)


def test_a_field_no_builder_takes_is_refused_with_a_suggestion():
  config = config_lib.get_config()
  config.optim.momentun = 0.5
  with pytest.raises(ConfigError, match=r"config\.optim\.momentun is not a config field "
                                        r"\(did you mean config\.optim\.momentum\?\)"):
    validate_config(config)
