"""The run record every analysis reads, and finding the runs under the paths it is given.

A run is a workdir holding `config.json` (the trainer writes it first), `metrics.jsonl`,
`summary.json` once finished, and `checkpoints/`. A path given to an analysis is a run or a
sweep directory whose sub-directories are runs (`launch.local` writes one per setting):

  runs = load_runs(["/tmp/sweep"])             # every run of the sweep, sorted by name
  runs[0].rows_for("test", seed=0)[-1]["accuracy"]
  runs[0].load_params(step=0)["params"]          # the initialisation of the first seed
"""

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

import ml_collections

from jaxgen import checkpoints, run_log
from jaxgen.config import has_run_config, read_run_config, to_dict
from jaxgen.config.saved import CONFIG_FILE

Row = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Run:
  """One run as it lies on disk: its config, its logged rows and its summary.

  Attributes:
    workdir: the run's work directory.
    config: its config, completed with the schema defaults (`read_run_config`).
    rows: the rows of metrics.jsonl, in logging order.
    summary: summary.json; None while the run is unfinished.
    pooled: further workdirs whose seeds this record pools (see `pool_seeds`).
  """

  workdir: str
  config: ml_collections.ConfigDict
  rows: list[Row]
  summary: dict[str, Any] | None
  pooled: tuple[str, ...] = ()

  @property
  def name(self) -> str:
    """The workdir's base name (a sweep's run names its setting)."""
    return os.path.basename(os.path.normpath(self.workdir))

  @property
  def workdirs(self) -> tuple[str, ...]:
    """Every workdir the record reads: its own and the pooled ones."""
    return (self.workdir, *self.pooled)

  @property
  def seeds(self) -> list[int]:
    """The run's seeds (`config.seeds`), in config order."""
    return list(self.config["seeds"])

  @property
  def stop_epochs(self) -> dict[int, float]:
    """Seed -> the epoch a stopping rule ended it at (seeds still training are absent)."""
    return {int(seed): stop["epoch"] for seed, stop in self.stop_records.items()}

  @property
  def stop_records(self) -> dict[str, dict[str, Any]]:
    """summary.json's "stopped": str(seed) -> {"reason", "step", "epoch", "metrics", ...}."""
    return (self.summary or {}).get("stopped", {})

  def rows_for(self, split: str, seed: int | None = None) -> list[Row]:
    """The rows of `split` ("train", "validation", "test"), of one seed or of all (None)."""
    return [row for row in self.rows
            if row["split"] == split and (seed is None or row["seed"] == seed)]

  def train_rows(self, seed: int | None = None) -> list[Row]:
    """The train rows (loss, accuracy, learning rate and per-layer metrics) of one seed or
    of all (None)."""
    return self.rows_for("train", seed)

  def last_rows(self, seed: int) -> dict[str, Row]:
    """{split: the seed's last logged row of that split}."""
    return {row["split"]: row for row in self.rows if row["seed"] == seed}

  def final_rows(self) -> dict[int, dict[str, Row]]:
    """{seed: {split: row}} of summary.json's "final" rows ({} while unfinished)."""
    if self.pooled:  # Pooling keeps the seeds' rows and stop records, not their summaries.
      raise ValueError(f"{self.workdirs} are pooled runs; read each run's final rows")
    final: dict[int, dict[str, Row]] = {}
    for key, row in (self.summary or {}).get("final", {}).items():
      seed, split = key.split("/")
      final.setdefault(int(seed), {})[split] = row
    return final

  def steps_per_epoch(self) -> int:
    """Optimizer steps per epoch, from the logged row of the latest epoch (epochs are logged
    to 4 decimals, so an early fractional epoch would give a rounded ratio)."""
    row = max(self.rows, key=lambda r: r["epoch"])
    return round(row["step"] / row["epoch"])

  def checkpoint_steps(self) -> list[int]:
    """The steps with a saved checkpoint (0 is the initialisation)."""
    return checkpoints.saved_steps(self._own_workdir())

  def load_params(self, step: int | None = None, seed_index: int = 0) -> dict[str, Any]:
    """One seed's saved variables (`checkpoints.load`).

    Args:
      step: the checkpoint step; None for the latest.
      seed_index: index into `seeds`.

    Returns:
      {"params", "batch_stats", "step"} as NumPy arrays.
    """
    return checkpoints.load(self._own_workdir(), step, seed_index)

  def _own_workdir(self) -> str:
    if self.pooled:  # The pooled seeds live in other runs' checkpoints.
      raise ValueError(f"{self.workdirs} are pooled runs; load each run's checkpoints")
    return self.workdir


def load_run(workdir: str) -> Run:
  """Reads the run in `workdir` (config, metrics rows, summary).

  Raises:
    ConfigError: if `workdir` holds no config.json.
  """
  return Run(workdir, read_run_config(workdir), run_log.read_metrics(workdir),
             run_log.read_summary(workdir))


def find_runs(paths: str | Sequence[str]) -> list[str]:
  """The run workdirs under `paths`: each path is a run or a directory of runs.

  Args:
    paths: one path or several: workdirs (holding config.json) or sweep directories, whose
      sub-directories with a config.json are the runs (others, e.g. figures/, are skipped).

  Returns:
    Workdirs in the order of `paths`, a sweep directory's runs sorted by name.

  Raises:
    ValueError: if no path holds a run.
  """
  paths = [paths] if isinstance(paths, str) else list(paths)
  found = []
  for path in paths:
    if has_run_config(path):
      found.append(path)
      continue
    children = sorted(os.path.join(path, name) for name in os.listdir(path))
    found.extend(child for child in children if os.path.isdir(child) and has_run_config(child))
  if not found:
    raise ValueError(f"no run (a directory with {CONFIG_FILE}) in {paths}")
  return found


def load_runs(paths: str | Sequence[str]) -> list[Run]:
  """`load_run` of every run of `find_runs(paths)`, in that order."""
  return [load_run(workdir) for workdir in find_runs(paths)]


def pool_seeds(runs: Sequence[Run]) -> list[Run]:
  """Pools runs whose configs differ only in `seeds` (`launch.local --separate_seeds`).

  Args:
    runs: runs in any order.

  Returns:
    One record per setting, in the order of its first run: that run's workdir and config
    with the seeds of every pooled run, their rows and their "stopped" records.

  Raises:
    ValueError: if a seed appears in two runs of the same setting.
  """
  groups: dict[str, list[Run]] = {}
  for run in runs:
    setting = json.dumps({k: v for k, v in to_dict(run.config).items() if k != "seeds"},
                         sort_keys=True)
    groups.setdefault(setting, []).append(run)
  return [_pool(group) for group in groups.values()]


def _pool(group: list[Run]) -> Run:
  seeds, stopped = [], {}
  for run in group:
    repeated = sorted(set(seeds) & set(run.seeds))
    if repeated:
      raise ValueError(f"{run.workdir} repeats seed(s) {repeated} of "
                       f"{[r.workdir for r in group[:group.index(run)]]}")
    seeds += run.seeds
    stopped.update(run.stop_records)
  config = ml_collections.ConfigDict(to_dict(group[0].config))
  config.seeds = seeds
  summaries = [run.summary for run in group]
  summary = None if any(s is None for s in summaries) else {"stopped": stopped}
  return Run(group[0].workdir, config, [row for run in group for row in run.rows], summary,
             tuple(run.workdir for run in group[1:]))

