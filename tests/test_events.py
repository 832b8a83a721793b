"""When a run logs, checkpoints and keeps snapshots: one schedule built from the config."""

from jaxgen.events import EventSchedule


def test_log_every_steps_logs_off_epoch_and_always_at_the_last_step(tiny_config):
  config = tiny_config(**{"train.num_epochs": 2, "train.log_every_steps": 4})
  events = EventSchedule.from_config(config, steps_per_epoch=11)
  assert events.total_steps == 22
  assert [s for s in range(1, 23) if events.is_log_step(s)] == [4, 8, 12, 16, 20, 22]
  assert events.epoch(4) == 0.3636


def test_checkpoints_fall_on_epoch_ends_of_the_cadence_and_snapshots(tiny_config):
  config = tiny_config(**{"train.num_epochs": 7, "checkpoint.every_epochs": 3,
                          "checkpoint.snapshot_epochs": (2,), "checkpoint.snapshot_until_epoch": 1})
  events = EventSchedule.from_config(config, steps_per_epoch=10)
  assert [s for s in range(1, 71) if events.is_checkpoint_step(s)] == [10, 20, 30, 60, 70]
  assert events.snapshot_steps() == [0, 10, 20]
  # Logging follows the epochs when log_every_steps is 0.
  assert [s for s in range(1, 71) if events.is_log_step(s)] == list(range(10, 71, 10))


def test_next_event_stops_each_chunk_at_logging_events_epoch_ends_and_the_end(tiny_config):
  config = tiny_config(**{"train.num_epochs": 2, "train.log_every_steps": 4})
  events = EventSchedule.from_config(config, steps_per_epoch=11)
  chunk_ends, step = [], 0
  while step < events.total_steps:
    step = events.next_event(step)
    chunk_ends.append(step)
  assert chunk_ends == [4, 8, 11, 12, 16, 20, 22]
  # Every checkpoint falls on a chunk's end.
  assert {s for s in range(1, 23) if events.is_checkpoint_step(s)} <= set(chunk_ends)
