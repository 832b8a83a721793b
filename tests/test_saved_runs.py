"""Runs saved before the state kept only its metrics' references still resume and still
count as finished (`tests/fixtures/run_saved_before_redesign`: the tiny config, 1 epoch)."""

import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import checkpoints, run_log, run_setup, train
from launch import local, sweep

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "run_saved_before_redesign")


def _copy_fixture(path) -> str:
  shutil.copytree(FIXTURE, path)
  return str(path)


# The fixture's epoch-1 rows hold layer_rotation as computed when it was written; the metric
# has since become exact for small angles (the same cosine distance, computed without the
# cancellation of 1 - cos in float32), so those values agree to float32 rounding only.
ROTATION = "layer_rotation/"


def test_saved_run_extended_by_an_epoch_equals_an_uninterrupted_run_bit_for_bit(tiny_config,
                                                                                tmp_path):
  saved = _copy_fixture(tmp_path / "saved")
  assert checkpoints.saved_steps(saved) == [0, 11]
  resumed = train.train_and_evaluate(tiny_config(**{"train.num_epochs": 2}), saved)
  fresh = train.train_and_evaluate(tiny_config(**{"train.num_epochs": 2}),
                                   str(tmp_path / "fresh"))
  for a, b in zip(jax.tree.leaves(resumed.state), jax.tree.leaves(fresh.state), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  old_rows, new_rows = run_log.read_metrics(saved), run_log.read_metrics(str(tmp_path / "fresh"))
  assert len(old_rows) == len(new_rows)
  for old, new in zip(old_rows, new_rows, strict=True):
    assert old.keys() == new.keys()
    for key in old:
      if key.startswith(ROTATION) and old["epoch"] == 1.0:
        assert old[key] == pytest.approx(new[key], rel=1e-5, abs=1e-7), key
      elif key != "wall_time":
        assert old[key] == new[key], key


def test_local_launcher_skips_the_saved_run_as_finished(tmp_path):
  config = tmp_path / "tiny.py"
  config.write_text("from tests.conftest import make_tiny_config\n"
                    "def get_config():\n  return make_tiny_config(**{'train.num_epochs': 1})\n")
  _copy_fixture(tmp_path / "runs" / "base")
  assert local.run_one(sweep.Run("base", {}), str(config), str(tmp_path / "runs")) == ("base", 0)
  assert not os.path.exists(tmp_path / "runs" / "base" / "log.txt")  # Nothing was started.


def test_restore_drops_saved_references_that_the_state_does_not_keep(tiny_config, tmp_path):
  saved = _copy_fixture(tmp_path / "saved")
  config = tiny_config(**{"metrics.names": (), "train.num_epochs": 1})
  setup = run_setup.prepare(config)
  state = setup.program.init(jnp.zeros((1,), jnp.int32))
  assert state.initial_params is None and state.previous_params is None
  manager = checkpoints.make_manager(saved, config, setup.events.steps_per_epoch)
  try:
    restored = checkpoints.restore(manager, 11, state)
  finally:
    manager.close()
  assert restored.initial_params is None and restored.previous_params is None
  expected = checkpoints.load(saved, 11)["params"]
  for a, b in zip(jax.tree.leaves(restored.params), jax.tree.leaves(expected), strict=True):
    np.testing.assert_array_equal(np.asarray(a), b)
  assert int(restored.step[0]) == 11
