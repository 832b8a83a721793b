"""What a run prints for a person: a line at the start, one per logging event, a summary at
the end.

Each logging event prints one line with the epoch out of the total, the step, and per split
the loss and accuracy (and top-k accuracy when logged), e.g.

  epoch 3/10  step 186  train loss 0.412 acc 87.3%  test loss 0.390 acc 88.1%

With several seeds each value is the mean over the seeds that still train, followed by the
standard deviation over those seeds (`acc 88.1% ±0.4`, in percentage points for accuracies)
and the seed count. Train values are running means over the steps since the previous event;
eval splits are evaluated at the event. The same numbers are in `metrics.jsonl`.
"""

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from jaxgen import run_log

# Printed per split, in this order: (metrics.jsonl key, label, shown as a percentage).
_SHOWN = (("loss", "loss", False), ("accuracy", "acc", True))
_TOP_K_PREFIX = "top"  # "top5_accuracy" is shown as "top5".


def _number(values: Sequence[float], percent: bool) -> str:
  """'87.3%' for one value; '87.3% ±0.4' (mean, sample standard deviation) for several."""
  values = np.asarray(values, np.float64)
  scale, unit, digits = (100.0, "%", 1) if percent else (1.0, "", 3)
  text = f"{values.mean() * scale:.{digits}f}{unit}"
  if len(values) > 1:
    text += f" ±{values.std(ddof=1) * scale:.{digits}f}"
  return text


def _metric_columns(row: dict[str, Any]) -> list[tuple[str, str, bool]]:
  columns = [column for column in _SHOWN if column[0] in row]
  for key in sorted(row):
    if key.startswith(_TOP_K_PREFIX) and key.endswith("_accuracy"):
      columns.append((key, key.removesuffix("_accuracy"), True))
  return columns


def format_epoch(epoch: float) -> str:
  """'3' for a whole epoch, '2.5' (at most two decimals) for a logging event within one."""
  whole = round(epoch)
  return str(whole) if abs(epoch - whole) < 1e-6 else f"{epoch:.2f}".rstrip("0")


def split_values(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
  """Per split (in the order of `rows`), its metrics as text: 'loss 0.412 acc 87.3%', each
  value averaged over the rows (seeds) of that split, with the spread when there are several."""
  by_split: dict[str, list[dict[str, Any]]] = {}
  for row in rows:
    by_split.setdefault(row["split"], []).append(row)
  texts = {}
  for split, split_rows in by_split.items():
    parts = []
    for key, label, percent in _metric_columns(split_rows[0]):
      values = [row[key] for row in split_rows if isinstance(row.get(key), float | int)]
      if values:
        parts.append(f"{label} {_number(values, percent)}")
    texts[split] = " ".join(parts)
  return texts


def _seed_note(rows: Sequence[dict[str, Any]], num_seeds: int = 0) -> str:
  count = len({row["seed"] for row in rows})
  if count < num_seeds:  # Stopping rules ended the others.
    return f"  ({count} of {num_seeds} seeds still training" + (
        ": mean ±std)" if count > 1 else ")")
  return f"  (mean ±std over {count} seeds)" if count > 1 else ""


def progress_line(rows: Sequence[dict[str, Any]], num_epochs: int, num_seeds: int = 0) -> str:
  """The line of one logging event, from its metrics.jsonl rows (all of one step).

  Args:
    rows: the event's rows, one per active seed and split.
    num_epochs: the run's length in epochs.
    num_seeds: how many seeds the run trains (the rows hold only those still training).
  """
  head = f"epoch {format_epoch(rows[0]['epoch'])}/{num_epochs}  step {rows[0]['step']}"
  splits = "  ".join(f"{split} {text}" for split, text in split_values(rows).items())
  return f"{head}  {splits}{_seed_note(rows, num_seeds)}"


def start_line(config, workdir: str, steps_per_epoch: int, start_step: int) -> str:
  """What is about to train, and where it writes (a resumed run says from which step)."""
  seeds = tuple(config.seeds)
  what = (f"Training {config.model.name} on {config.data.name} "
          f"({'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}) for "
          f"{config.train.num_epochs} epochs of {steps_per_epoch} steps")
  where = f"into {os.path.abspath(workdir)}"
  resumed = f" (resuming at step {start_step})" if start_step else ""
  note = ("; values are means over the seeds ±their standard deviation" if len(seeds) > 1
          else "")
  return f"{what}, {where}{resumed}{note}."


def format_duration(seconds: float) -> str:
  """'1m 05s', or '42s' under a minute."""
  minutes, seconds = divmod(round(seconds), 60)
  return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _checkpoint_steps(workdir: str) -> list[int]:
  # A plain listing, not checkpoints.saved_steps: opening an orbax manager syncs every
  # process of a multi-process run, and only process 0 prints this summary. orbax names each
  # complete step's folder by its number (temporary ones carry a suffix).
  path = os.path.join(workdir, "checkpoints")
  if not os.path.isdir(path):
    return []
  return sorted(int(name) for name in os.listdir(path) if name.isdigit())


def summary_lines(workdir: str, final: dict[tuple[int, str], dict[str, Any]],
                  stopped: dict[int, Any], num_epochs: int) -> list[str]:
  """The end-of-run summary: headline numbers, stopping rules that fired, files written.

  Args:
    workdir: the run's work directory.
    final: the last metrics.jsonl row per (seed, split).
    stopped: per seed, its `SeedStop` (reason, step, epoch) if a stopping rule ended it.
    num_epochs: the run's length in epochs.
  """
  rows = list(final.values())
  lines = []
  if rows:
    last = max(rows, key=lambda row: row["step"])
    lines.append(f"Finished at epoch {format_epoch(last['epoch'])}/{num_epochs}, step "
                 f"{last['step']}, after {format_duration(max(r['wall_time'] for r in rows))} of "
                 "training.")
    texts = split_values(sorted(rows, key=lambda row: row["split"] == "train"))
    note = _seed_note(rows).strip()
    for split, text in texts.items():
      label = "train (running mean of the last interval)" if split == "train" else split
      lines.append(f"  final {label}: {text}" + (f" {note}" if note else ""))
  for seed, stop in sorted(stopped.items()):
    lines.append(f"  seed {seed} stopped at epoch {format_epoch(stop.epoch)} (step {stop.step}): "
                 f"{stop.reason}")
  workdir = os.path.abspath(workdir)
  lines.append(f"Written to {workdir}:")
  lines.append("  metrics.jsonl      one JSON line per logging event, split and seed")
  lines.append("  config.json        the resolved config; summary.json: the final numbers")
  steps = _checkpoint_steps(workdir)
  if steps:
    lines.append(f"  checkpoints/       steps {', '.join(map(str, steps))}")
  figures = os.path.join(workdir, "figures")
  if os.path.isdir(figures) and os.listdir(figures):
    lines.append(f"  figures/           {', '.join(sorted(os.listdir(figures)))}")
  tensorboard = os.path.join(workdir, run_log.TENSORBOARD_DIR)
  if os.path.isdir(tensorboard):
    lines.append(f"  tensorboard/       view with: tensorboard --logdir={tensorboard}")
  return lines
