"""Configs: the schema of every field, loading config files with overrides, validation, and
the saved config of a run (reading it back, comparing it on resume).

A config is an `ml_collections.ConfigDict`; `schema.get_config()` holds every field with its
default and the embedded default run. Study configs live in `configs/<study>/` and build on
it.
"""

from jaxgen.config.errors import ConfigError
from jaxgen.config.loading import apply_overrides, load_config, load_module
from jaxgen.config.saved import (
    check_resume,
    has_run_config,
    read_run_config,
    to_dict,
    write_run_config,
)
from jaxgen.config.schema import get_config

__all__ = ["ConfigError", "apply_overrides", "check_resume", "get_config", "has_run_config",
           "load_config", "load_module", "read_run_config", "to_dict", "validate",
           "write_run_config"]


def validate(config) -> None:
  """Raises ConfigError for the first invalid field of `config` (see `config.validation`)."""
  # Imported here: validation reads every registry (models, optimizers, ...), which themselves
  # import ConfigError from this package.
  from jaxgen.config.validation import validate_config

  validate_config(config)
