"""A run's saved config (`config.json` in its workdir): writing it, reading it back, and
deciding whether a new config may resume the run.

Every reader of a saved config (the trainer, the launchers, the analyses) goes through
`read_run_config`, which gives a field missing from an older config.json its schema default,
so runs written before a field existed still resume and still read the same.
"""

import json
import os
from typing import Any

import ml_collections

from jaxgen import files
from jaxgen.config import schema
from jaxgen.config.errors import ConfigError

CONFIG_FILE = "config.json"
# Fields that may change when a run is resumed: extending a run or changing how it reports.
RESUMABLE_CHANGES = ("train.num_epochs", "logging.")
# Sections whose fields are a builder's keyword arguments: a saved section is taken whole,
# never completed with the schema's fields (those belong to the default model).
FREE_FORM_SECTIONS = ("model",)


def to_dict(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """A JSON-compatible dict of the config (tuples become lists)."""
  return json.loads(config.to_json())


def write_run_config(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Writes `config.json` into `workdir`, replacing any earlier one whole (never in place)."""
  files.write_atomic(os.path.join(workdir, CONFIG_FILE),
                     json.dumps(to_dict(config), indent=2, sort_keys=True))


def has_run_config(workdir: str) -> bool:
  """Whether `workdir` holds a run (its config.json)."""
  return os.path.exists(os.path.join(workdir, CONFIG_FILE))


def _with_defaults(saved: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
  merged = dict(saved)
  for key, value in defaults.items():
    if key not in merged:
      merged[key] = value
    elif (isinstance(value, dict) and isinstance(merged[key], dict)
          and key not in FREE_FORM_SECTIONS):
      merged[key] = _with_defaults(merged[key], value)
  return merged


def read_run_config(workdir: str) -> ml_collections.ConfigDict:
  """The config the run in `workdir` was trained with.

  Fields its config.json lacks (added to jaxgen after the run was written) take their
  schema default, which reproduces the behaviour from before they existed.

  Raises:
    ConfigError: if `workdir` holds no config.json, or one that is empty or not valid JSON.
  """
  if not has_run_config(workdir):
    raise ConfigError(f"{workdir} holds no run: there is no {CONFIG_FILE} in it")
  path = os.path.join(workdir, CONFIG_FILE)
  with open(path) as f:
    text = f.read()
  try:
    saved = json.loads(text)
    if not isinstance(saved, dict):
      raise ValueError(f"a JSON {type(saved).__name__}, not an object")
  except ValueError as error:
    state = "is empty" if not text.strip() else f"is not a saved config ({error})"
    raise ConfigError(
        f"{path} {state}: it was damaged outside jaxgen (jaxgen replaces it whole). If you "
        "know the run's config, delete this file and re-run that config on this workdir to "
        "resume from its checkpoints; otherwise use a fresh --workdir.") from error
  return ml_collections.ConfigDict(_with_defaults(saved, to_dict(schema.get_config())))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
  """{"section.field": value} of a nested dict."""
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(flatten(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


def check_resume(workdir: str, config: ml_collections.ConfigDict) -> None:
  """Raises ConfigError if `workdir` holds a run of a config that differs from `config` in
  more than `RESUMABLE_CHANGES` (no error when `workdir` holds no run yet)."""
  if not has_run_config(workdir):
    return
  flat_saved, flat_new = flatten(to_dict(read_run_config(workdir))), flatten(to_dict(config))
  changed = sorted(key for key in flat_saved.keys() | flat_new.keys()
                   if flat_saved.get(key) != flat_new.get(key)
                   and not key.startswith(RESUMABLE_CHANGES))
  if changed:
    details = "; ".join(f"config.{k}: {flat_saved.get(k)!r} -> {flat_new.get(k)!r}"
                        for k in changed)
    raise ConfigError(f"workdir {workdir} holds a run with a different config ({details}). "
                      "Use a new --workdir, or the same config to resume.")
