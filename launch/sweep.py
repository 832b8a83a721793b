"""Expands a config file's sweep into named runs; executing them is a back-end's job.

A config file may define `get_sweep() -> list[dict]`, each dict a set of overrides of
`get_config()` (dotted field names). The seed is its own axis, never part of the sweep:
`expand(..., seeds=(0, 1, 2))` trains the seeds of each setting together in one vmapped run
(`config.seeds`), or as separate runs with `separate_seeds=True`.
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
  """One run of a sweep: its sub-workdir name and its config overrides."""

  name: str
  overrides: dict[str, Any]

  def command(self, python: str, config_path: str, root: str) -> list[str]:
    """The `jaxgen.main` command line of this run, with workdir `root/name`."""
    flags = [f"--config.{key}={format_value(value)}" for key, value in self.overrides.items()]
    return [python, "-m", "jaxgen.main", f"--config={config_path}",
            f"--workdir={os.path.join(root, self.name)}", *flags]


def format_value(value: Any) -> str:
  """A value as ml_collections' flag parser reads it back."""
  if isinstance(value, list | tuple):
    return "(" + "".join(f"{format_value(v)}, " for v in value) + ")"
  return str(value)


def run_name(overrides: dict[str, Any]) -> str:
  """A directory name saying what the run changes, e.g. "optim.learning_rate=0.1,model.widths=2"."""
  if not overrides:
    return "base"
  parts = []
  for key, value in overrides.items():
    shown = "-".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    # Section and field ("optim.learning_rate", "corruption.seed"): the field alone can be
    # ambiguous ("seed", "name"), the full dotted key is needlessly long.
    parts.append(f"{'.'.join(key.split('.')[-2:])}={shown}")
  return re.sub(r"[^A-Za-z0-9_.,=+-]", "_", ",".join(parts))


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
      vmapped run per setting.
    fixed: overrides applied to every run (e.g. a data_dir); not part of run names.

  Returns:
    The runs, in sweep order.
  """
  fixed = dict(fixed or {})
  if separate_seeds and seeds is None:
    seeds = list(load_config(config_path).seeds)
  runs = []
  for overrides in load_sweep(config_path):
    if seeds is None:
      runs.append(Run(run_name(overrides), {**fixed, **overrides}))
    elif separate_seeds:
      for seed in seeds:
        with_seed = {**overrides, "seeds": (seed,)}
        runs.append(Run(run_name(with_seed), {**fixed, **with_seed}))
    else:
      runs.append(Run(run_name(overrides), {**fixed, **overrides, "seeds": tuple(seeds)}))
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
  """Whether `root/run.name` holds a finished run (its summary.json exists) of the config the
  sweep gives it now.

  Raises:
    RunDivergedError: if the run ended by diverging (not a result to reuse, nor to re-run).
    ConfigError: if the run finished with another config (the config file or the overrides
      changed since): it is neither reused nor silently overwritten.
  """
  workdir = os.path.join(root, run.name)
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
