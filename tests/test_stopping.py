"""Stopping rules applied to logged train rows."""

from configs import default
from jaxgen.stopping import StoppingTracker


def _row(seed, step, epoch, loss, accuracy):
  return {"seed": seed, "split": "train", "step": step, "epoch": epoch, "loss": loss,
          "accuracy": accuracy, "wall_time": float(step)}


def _stop_config(**fields):
  stop = default.get_config().train.stop
  for key, value in fields.items():
    stop[key] = value
  return stop


def test_not_working_rule_checks_the_first_event_at_or_after_its_epoch():
  tracker = StoppingTracker(_stop_config(fail_check_epoch=2, fail_below_accuracy=0.2), [0, 1])
  # Events every 1.5 epochs: none falls exactly on epoch 2.
  assert tracker.update([_row(0, 15, 1.5, 2.3, 0.1), _row(1, 15, 1.5, 2.3, 0.1)]) == []
  assert tracker.update([_row(0, 30, 3.0, 2.3, 0.1), _row(1, 30, 3.0, 1.0, 0.6)]) == [0]
  assert tracker.stopped[0].reason.startswith("not working")
  # Checked once: seed 1 is not stopped later by a bad epoch.
  assert tracker.update([_row(1, 45, 4.5, 2.3, 0.1)]) == []


def test_plateau_stops_after_k_events_of_unchanged_loss_and_replay_rebuilds_it():
  rows = [_row(0, s, s, loss, 0.5) for s, loss in enumerate([1.0, 0.5, 0.5, 0.5, 0.5], 1)]
  tracker = StoppingTracker(_stop_config(plateau_epochs=3), [0])
  stopped = [tracker.update([row]) for row in rows]
  assert stopped == [[], [], [], [], [0]]
  replayed = StoppingTracker(_stop_config(plateau_epochs=3), [0])
  replayed.replay(rows)
  assert replayed.stopped == tracker.stopped


def test_fitted_rules_record_step_epoch_time_and_test_accuracy():
  tracker = StoppingTracker(_stop_config(target_train_loss=0.01), [0])
  test_row = {**_row(0, 7, 1.0, 2.0, 0.11), "split": "test"}
  tracker.update([_row(0, 7, 1.0, 0.005, 1.0), test_row])
  stop = tracker.stopped[0]
  assert (stop.step, stop.epoch, stop.wall_time) == (7, 1.0, 7.0)
  assert stop.metrics == {"train_loss": 0.005, "train_accuracy": 1.0, "test_loss": 2.0,
                          "test_accuracy": 0.11}


def test_test_accuracy_target_stops_at_the_first_event_that_reaches_it():
  tracker = StoppingTracker(_stop_config(target_test_accuracy=0.9), [0, 1])
  events = [(1, 0.85, 0.91), (2, 0.95, 0.89)]  # (epoch, test accuracy of seed 0, of seed 1)
  stopped = []
  for epoch, *tests in events:
    rows = [_row(seed, epoch, epoch, 0.3, 0.99) for seed in (0, 1)]
    rows += [{**_row(seed, epoch, epoch, 0.4, acc), "split": "test"}
             for seed, acc in zip((0, 1), tests, strict=True)]
    stopped.append(tracker.update(rows))
  assert stopped == [[1], [0]]
  assert tracker.stopped[1].reason.startswith("target: test accuracy")
  assert tracker.stopped[1].metrics["test_accuracy"] == 0.91 and tracker.stopped[1].epoch == 1
