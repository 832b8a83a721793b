"""Stopping rules, evaluated per seed on the rows of each logging event.

A seed stops when it has fitted the training set ("interpolation": train accuracy or loss
reaches its target), when its loss has plateaued, when it is "not working" (train
accuracy still at or below a threshold at a given epoch), or when its test accuracy reaches a
target (the relative-weight-change code's early stopping, which looks at the test set). The
tracker is a pure function of the logged rows, so a resumed run rebuilds it by replaying
`metrics.jsonl`.
"""

import dataclasses
from typing import Any

import ml_collections


@dataclasses.dataclass
class SeedStop:
  """Why and when a seed stopped, with its metrics at that point."""

  reason: str
  step: int
  epoch: float
  wall_time: float
  metrics: dict[str, Any]


class StoppingTracker:
  """Applies `config.train.stop` to successive train rows of every seed."""

  def __init__(self, stop: ml_collections.ConfigDict, seeds: list[int]):
    self._stop = stop
    self.stopped: dict[int, SeedStop] = {}
    self._last_loss: dict[int, float] = {}
    self._unchanged: dict[int, int] = dict.fromkeys(seeds, 0)
    self._fail_checked: set[int] = set()

  def _reason(self, row: dict[str, Any], test_row: dict[str, Any] | None) -> str | None:
    stop, seed = self._stop, row["seed"]
    if (stop.target_test_accuracy and test_row is not None
        and test_row["accuracy"] >= stop.target_test_accuracy):
      return "target: test accuracy reached target"
    if stop.target_train_accuracy and row["accuracy"] >= stop.target_train_accuracy:
      return "fitted: train accuracy reached target"
    if stop.target_train_loss and row["loss"] <= stop.target_train_loss:
      return "fitted: train loss reached target"
    # Checked once, at the first event at or after that epoch (events need not fall on it).
    if (stop.fail_check_epoch and seed not in self._fail_checked
        and row["epoch"] >= stop.fail_check_epoch):
      self._fail_checked.add(seed)
      if row["accuracy"] <= stop.fail_below_accuracy:
        return "not working: train accuracy at or below threshold"
    if stop.plateau_epochs:
      last = self._last_loss.get(seed)
      unchanged = last is not None and abs(row["loss"] - last) <= stop.plateau_min_delta
      self._unchanged[seed] = self._unchanged[seed] + 1 if unchanged else 0
      self._last_loss[seed] = row["loss"]
      if self._unchanged[seed] >= stop.plateau_epochs:
        return "plateau: train loss unchanged"
    return None

  def update(self, rows: list[dict[str, Any]]) -> list[int]:
    """Feeds one event's rows (all splits); returns the seeds that stop now."""
    by_seed = {row["seed"]: row for row in rows if row["split"] == "train"}
    newly_stopped = []
    for seed, row in by_seed.items():
      if seed in self.stopped:
        continue
      seed_rows = {r["split"]: r for r in rows if r["seed"] == seed}
      reason = self._reason(row, seed_rows.get("test"))
      if reason:
        measured = {f"{split}_{key}": r[key] for split, r in seed_rows.items()
                    for key in ("loss", "accuracy")}
        self.stopped[seed] = SeedStop(reason, row["step"], row["epoch"], row["wall_time"],
                                      measured)
        newly_stopped.append(seed)
    return newly_stopped

  def replay(self, rows: list[dict[str, Any]]) -> None:
    """Rebuilds the tracker from the rows of an earlier part of the run."""
    for step in sorted({row["step"] for row in rows}):
      self.update([row for row in rows if row["step"] == step])
