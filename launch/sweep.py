"""Expands a config file's sweep into named runs; executing them is a back-end's job.

A config file may define `get_sweep() -> list[dict]`, each dict a set of overrides of
`get_config()` (dotted field names). The seed is its own axis, never part of the sweep:
`expand(..., seeds=(0, 1, 2))` trains the seeds of each setting together in one run
(`config.seeds`, run as `sharding.seed_strategy` says), or as separate runs with
`separate_seeds=True`.
"""

import ast
import dataclasses
import os
import re
from collections.abc import Sequence
from typing import Any

from jaxgen.config import ConfigError, check_resume, load_config, load_module
from jaxgen.run_log import SUMMARY_FILE, read_summary


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a sweep: its sub-workdir name and its config overrides.

  Attributes:
    name: the sub-workdir name (`run_name`).
    overrides: the config overrides, dotted field name -> value.
    legacy_name: the name the run had before names rounded floats (`legacy_run_name`), when
      it differs: a sweep started then still finds its runs there.
  """

  name: str
  overrides: dict[str, Any]
  legacy_name: str | None = None

  def workdir(self, root: str) -> str:
    """`root/name`, or `root/legacy_name` where only that folder exists."""
    if self.legacy_name is not None:
      legacy = os.path.join(root, self.legacy_name)
      if os.path.isdir(legacy) and not os.path.exists(os.path.join(root, self.name)):
        return legacy
    return os.path.join(root, self.name)

  def command(self, python: str, config_path: str, root: str) -> list[str]:
    """The `jaxgen.main` command line of this run, with workdir `self.workdir(root)`."""
    flags = [f"--config.{key}={format_value(value)}" for key, value in self.overrides.items()]
    return [python, "-m", "jaxgen.main", f"--config={config_path}",
            f"--workdir={self.workdir(root)}", *flags]


def format_value(value: Any) -> str:
  """A value as ml_collections' flag parser reads it back."""
  if isinstance(value, list | tuple):
    return "(" + "".join(f"{format_value(v)}, " for v in value) + ")"
  return str(value)


# Floats in run names keep at least this many significant digits, more where a sweep needs
# them to tell its values apart (0.19245008972987526 -> 0.192).
NAME_DIGITS = 3


def _shown(value: Any, digits: int | None) -> str:
  if isinstance(value, list | tuple):
    return "-".join(_shown(item, digits) for item in value)
  if isinstance(value, float) and digits is not None:
    rounded = f"{value:.{digits}g}"
    # A value that needs no rounding keeps Python's own shortest form ("0.0", "1e-06").
    return str(value) if float(rounded) == value else rounded
  return str(value)


def run_name(overrides: dict[str, Any], digits: dict[str, int] | None = None) -> str:
  """A directory name saying what the run changes, e.g. "optim.learning_rate=0.1,model.widths=2".

  Args:
    overrides: the run's overrides.
    digits: per key, significant digits of its floats (default NAME_DIGITS); `expand` picks
      them so that the runs of a sweep get distinct names.
  """
  if not overrides:
    return "base"
  parts = []
  for key, value in overrides.items():
    shown = _shown(value, (digits or {}).get(key, NAME_DIGITS))
    # Section and field ("optim.learning_rate", "corruption.seed"): the field alone can be
    # ambiguous ("seed", "name"), the full dotted key is needlessly long.
    parts.append(f"{'.'.join(key.split('.')[-2:])}={shown}")
  return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", ",".join(parts))


def legacy_run_name(overrides: dict[str, Any]) -> str:
  """The name runs had before `run_name` rounded floats (every float in full repr)."""
  return run_name(overrides, dict.fromkeys(overrides))


def name_digits(sweep: Sequence[dict[str, Any]]) -> dict[str, int]:
  """Per key of a sweep, the fewest significant digits (at least NAME_DIGITS) that keep its
  distinct values distinct in run names."""
  digits = {}
  for key in {key for overrides in sweep for key in overrides}:
    values = {repr(o[key]): o[key] for o in sweep if key in o}.values()
    for n in range(NAME_DIGITS, 18):
      if len({_shown(value, n) for value in values}) == len(values):
        break
    digits[key] = n
  return digits


def load_sweep(config_path: str) -> list[dict[str, Any]]:
  """Calls `get_sweep()` of the config file at `config_path`.

  `config_path` may carry a `get_config` argument after a colon ("file.py:variant", as
  `jaxgen.main --config` accepts); the sweep is then run over that variant.
  """
  module = load_module(config_path)
  if not hasattr(module, "get_sweep"):
    raise ValueError(f"{config_path} defines no get_sweep(); it has nothing to expand")
  sweep = module.get_sweep()
  for overrides in sweep:
    if "seeds" in overrides or "seed" in overrides:
      raise ValueError(f"{config_path}: get_sweep() must not set seeds; pass them to the "
                       "launcher (the seed is its own axis)")
  return sweep


def expand(config_path: str, seeds: Sequence[int] | None = None,
           separate_seeds: bool = False, fixed: dict[str, Any] | None = None) -> list[Run]:
  """The runs of a sweep, each with its overrides and sub-workdir name.

  Args:
    config_path: a config file defining get_config() and get_sweep() ("file.py:arg" passes
      `arg` to get_config).
    seeds: seeds to train for every setting; None keeps the config's own.
    separate_seeds: one run per seed (of `seeds`, or the config's own) instead of one
      run of all the seeds per setting.
    fixed: overrides applied to every run (e.g. a data_dir); not part of run names.

  Returns:
    The runs, in sweep order.
  """
  fixed = dict(fixed or {})
  if separate_seeds and seeds is None:
    seeds = list(load_config(config_path).seeds)
  sweep = load_sweep(config_path)
  digits = name_digits(sweep)

  def named(overrides: dict[str, Any], all_overrides: dict[str, Any]) -> Run:
    name, legacy = run_name(overrides, digits), legacy_run_name(overrides)
    return Run(name, all_overrides, legacy if legacy != name else None)

  runs = []
  for overrides in sweep:
    if seeds is None:
      runs.append(named(overrides, {**fixed, **overrides}))
    elif separate_seeds:
      for seed in seeds:
        with_seed = {**overrides, "seeds": (seed,)}
        runs.append(named(with_seed, {**fixed, **with_seed}))
    else:
      runs.append(named(overrides, {**fixed, **overrides, "seeds": tuple(seeds)}))
  names = [run.name for run in runs]
  if len(set(names)) != len(names):
    raise ValueError(f"{config_path}: get_sweep() repeats a setting: {names}")
  return runs


def parse_fixed(items: Sequence[str]) -> dict[str, Any]:
  """`--set` items ("data.data_dir=/data", "train.num_epochs=1") as overrides; a value is a
  Python literal where it is one ("0.1", "(1, 2)"), else the string."""
  fixed = {}
  for item in items:
    key, sep, text = item.partition("=")
    if not sep or not key:
      raise ValueError(f"--set={item!r}: expected field=value, e.g. --set=train.num_epochs=1")
    try:
      fixed[key] = ast.literal_eval(text)
    except (ValueError, SyntaxError):
      fixed[key] = text
  return fixed


class RunDivergedError(Exception):
  """A run's summary says it diverged: it ended without results, and re-running the same
  config would diverge again."""


def is_finished(run: Run, config_path: str, root: str) -> bool:
  """Whether `run.workdir(root)` holds a finished run (its summary.json exists) of the config the
  sweep gives it now.

  Raises:
    RunDivergedError: if the run ended by diverging (not a result to reuse, nor to re-run).
    ConfigError: if the run finished with another config (the config file or the overrides
      changed since): it is neither reused nor silently overwritten.
  """
  workdir = run.workdir(root)
  if not os.path.exists(os.path.join(workdir, SUMMARY_FILE)):
    return False
  diverged = (read_summary(workdir) or {}).get("diverged")
  if diverged:
    raise RunDivergedError(f"{run.name}: diverged, not finished ({diverged}); delete {workdir} "
                           "to re-run.")
  try:
    check_resume(workdir, load_config(config_path, run.overrides))
  except ConfigError as error:
    raise ConfigError(f"{run.name}: finished with another config; delete it to re-run. "
                      f"{error}") from error
  return True
