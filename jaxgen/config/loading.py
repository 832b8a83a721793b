"""Loading config files and applying dotted overrides outside the command line.

`python -m jaxgen.main` does this through ml_collections' config flags; launchers, tests and
notebooks use these functions to build the same config in-process.
"""

import importlib.util
from types import ModuleType
from typing import Any

import ml_collections

from jaxgen.config.errors import ConfigError


def load_module(config_path: str) -> ModuleType:
  """Imports a config file ("file.py", or "file.py:arg" whose argument is ignored here)."""
  path = config_path.partition(":")[0]
  spec = importlib.util.spec_from_file_location("_jaxgen_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def apply_overrides(config: ml_collections.ConfigDict, overrides: dict[str, Any]) -> None:
  """Sets each dotted field ("optim.learning_rate") of `config` to its value, in place.

  Raises:
    ConfigError: for a section that does not exist, or a value of the wrong type (a new
      field in an existing section is added, and `validate` reports it by name).
  """
  for key, value in overrides.items():
    section, _, field = key.rpartition(".")
    target = config
    for part in filter(None, section.split(".")):
      if not isinstance(target, ml_collections.ConfigDict) or part not in target:
        valid = ", ".join(sorted(target)) if isinstance(target, ml_collections.ConfigDict) else ""
        raise ConfigError(f"config.{key}: there is no section {part!r} here"
                          + (f"; valid sections and fields: {valid}" if valid else ""))
      target = target[part]
    try:
      target[field] = value
    except (TypeError, ValueError, AttributeError) as error:
      raise ConfigError(f"config.{key}={value!r} cannot be set: {error}") from None


def load_config(config_path: str,
                overrides: dict[str, Any] | None = None) -> ml_collections.ConfigDict:
  """The config of `config_path` ("file.py" or "file.py:arg") with `overrides` applied."""
  _, _, arg = config_path.partition(":")
  module = load_module(config_path)
  config = module.get_config(arg) if arg else module.get_config()
  apply_overrides(config, overrides or {})
  return config
