"""The run's log in its workdir: `metrics.jsonl`, TensorBoard events (`tensorboard/seed_<n>/`,
one TensorBoard run per seed) and `summary.json` (its config.json belongs to `jaxgen.config`).

`metrics.jsonl` has one JSON object per line, per logging event, split and seed:
  {"step", "epoch", "seed", "split", "loss", "accuracy", "learning_rate", "wall_time",
   "<metric>/<layer path>": value, ...}
(`learning_rate` and per-layer metrics on "train" lines). `read_metrics` reads it back, and
`read_step_rotations` the per-step rotations a Layca run can copy.
"""

import json
import math
import os
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np
from absl import logging

from jaxgen import files, path_rules
from jaxgen.config.errors import ConfigError

METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"  # Written when a run finishes.
TENSORBOARD_DIR = "tensorboard"


def tensorboard_run_dir(tensorboard_dir: str, seed: int) -> str:
  """Where a seed's TensorBoard events go: one TensorBoard run per seed, so that
  `tensorboard --logdir=<workdir or sweep root>` overlays the seeds' curves."""
  return os.path.join(tensorboard_dir, f"seed_{seed}")


class CorruptLogError(ValueError):
  """A run file (a line of metrics.jsonl before its last one, or summary.json) is not valid
  JSON."""


def write_summary(workdir: str, summary: dict[str, Any]) -> None:
  """Writes `summary.json`, whose presence marks the run as finished."""
  # Atomic: a half-written summary never marks a run done.
  files.write_atomic(os.path.join(workdir, SUMMARY_FILE), json.dumps(summary, indent=2))


def read_summary(workdir: str) -> dict[str, Any] | None:
  """The finished run's summary: final step, final rows per seed/split, stopped seeds; or
  {"final_step", "diverged": message} for a run whose loss became NaN/inf."""
  path = os.path.join(workdir, SUMMARY_FILE)
  if not os.path.exists(path):
    return None
  with open(path) as f:
    try:
      return json.load(f)
    except ValueError as error:
      raise CorruptLogError(
          f"{path} is not valid JSON ({error}); it was damaged outside jaxgen (jaxgen replaces "
          "it whole). Delete it and re-run the run's command: it resumes from its last "
          "checkpoint and writes the summary again.") from error


def _read_rows(path: str) -> tuple[list[dict[str, Any]], bool]:
  """The rows of the metrics file at `path`, and whether its last line was cut off (a
  process killed while appending it): that line is dropped with a warning."""
  if not os.path.exists(path):
    return [], False
  with open(path) as f:
    lines = f.read().split("\n")
  rows = []
  for number, line in enumerate(lines, start=1):
    if not line.strip():
      continue
    try:
      rows.append(json.loads(line))
    except ValueError as error:
      if any(later.strip() for later in lines[number:]):
        raise CorruptLogError(f"{path}, line {number}, is not valid JSON ({error}); only a "
                              "cut-off last line is dropped automatically.") from error
      logging.warning("Dropped the cut-off last line %d of %s (a process stopped while "
                      "writing it): %r", number, path, line[:80])
      return rows, True
  return rows, False


def read_metrics(workdir: str) -> list[dict[str, Any]]:
  """All rows of `metrics.jsonl` (a list of dicts; `pandas.DataFrame(rows)` tabulates them).

  A cut-off last line (its process was killed while writing it) is dropped with a warning.

  Raises:
    CorruptLogError: if an earlier line is not valid JSON.
  """
  return _read_rows(os.path.join(workdir, METRICS_FILE))[0]


STEP_ROTATION = "step_rotation"


class RecordedRotations(NamedTuple):
  """Per-step cosine distances of each layer of a run (what `optim.copy_rotation_from` copies).

  Attributes:
    paths: the layer paths, in network order.
    distances: (steps, layers) cosine distance of each layer across each step.
  """

  paths: list[str]
  distances: np.ndarray


def read_step_rotations(workdir: str, layer_rule: str) -> RecordedRotations:
  """The per-step per-layer rotations recorded in `workdir`.

  The run must have logged the "step_rotation" metric at every step
  (`train.log_every_steps=1`): its row at step t+1 holds each layer's cosine distance across
  step t. A multi-seed run is read at its lowest seed.

  Args:
    workdir: the recorded run's work directory.
    layer_rule: regex selecting the layers (Layca's `optim.layer_rule`).

  Raises:
    ConfigError: if the workdir holds no such per-step rows.
  """
  prefix = STEP_ROTATION + "/"
  rows = [row for row in read_metrics(workdir) if row["split"] == "train"]
  if rows:
    seed = min(row["seed"] for row in rows)
    rows = sorted((row for row in rows if row["seed"] == seed), key=lambda row: row["step"])
  keys = [key for key in (rows[0] if rows else {}) if key.startswith(prefix)]
  paths = path_rules.layer_paths({key.removeprefix(prefix): 0 for key in keys}, layer_rule)
  steps = [row["step"] for row in rows]
  if not paths or steps != list(range(1, len(rows) + 1)):
    raise ConfigError(
        f"config.optim.copy_rotation_from={workdir!r} holds no per-step layer rotations: "
        f"record them with train.log_every_steps=1 and '{STEP_ROTATION}' in metrics.names "
        f"(found {len(rows)} train rows, {len(paths)} '{prefix}*' layers matching "
        f"{layer_rule!r}).")
  distances = np.asarray([[row[prefix + path] for path in paths] for row in rows], np.float32)
  return RecordedRotations(paths, distances)


def json_safe(value: Any) -> Any:
  """`value` for json.dump: array scalars as floats, non-finite floats as "nan"/"inf"
  strings (bare NaN is not JSON), recursively through dicts, lists and tuples."""
  if isinstance(value, dict):
    return {key: json_safe(item) for key, item in value.items()}
  if isinstance(value, list | tuple):
    return [json_safe(item) for item in value]
  value = float(value) if hasattr(value, "__float__") and not isinstance(value, int) else value
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  return value


class RunLog:
  """Appends logging events to `metrics.jsonl` and, optionally, TensorBoard."""

  def __init__(self, workdir: str, resume_step: int, tensorboard: bool):
    self._path = os.path.join(workdir, METRICS_FILE)
    # Lines past the checkpoint we resume from come from an interrupted run and will be
    # logged again; dropping them keeps the file a single consistent history. The file is
    # replaced whole (never rewritten in place), so a kill during the rewrite loses nothing.
    rows, cut_off = _read_rows(self._path)
    kept = [row for row in rows if row["step"] <= resume_step]
    if cut_off or len(kept) < len(rows) or not os.path.exists(self._path):
      files.write_atomic(self._path, "".join(json.dumps(row) + "\n" for row in kept))
    self._tensorboard_dir = os.path.join(workdir, TENSORBOARD_DIR) if tensorboard else None
    self._writers = {}  # seed -> its TensorBoard writer, opened at its first row.

  def _writer(self, seed: int):
    if seed not in self._writers:
      from tensorboardX import SummaryWriter

      self._writers[seed] = SummaryWriter(tensorboard_run_dir(self._tensorboard_dir, seed))
    return self._writers[seed]

  def write(self, rows: Iterable[dict[str, Any]]) -> None:
    """Appends rows (each with step, seed and split) and mirrors scalars to TensorBoard,
    each seed as its own TensorBoard run (`tensorboard/seed_<seed>/`, tags `<split>/<key>`)."""
    rows = [{key: json_safe(value) for key, value in row.items()} for row in rows]
    with open(self._path, "a") as f:
      f.writelines(json.dumps(row) + "\n" for row in rows)
    if self._tensorboard_dir is None:
      return
    for row in rows:
      writer = self._writer(row["seed"])
      for key, value in row.items():
        if key not in ("step", "epoch", "seed", "split") and isinstance(value, float):
          writer.add_scalar(f"{row['split']}/{key}", value, row["step"])

  def close(self) -> None:
    for writer in self._writers.values():
      writer.close()
