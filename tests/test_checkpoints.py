"""Which checkpoints a run keeps, and loading them back for analysis."""

import subprocess
import sys

import jax
import numpy as np
import pytest

from jaxgen import checkpoints, events, metrics, train


def test_snapshots_and_step_zero_are_kept_while_latest_rolls(tiny_config, tmp_path):
  config = tiny_config(seeds=(0, 1), **{"train.num_epochs": 4,
                                        "checkpoint.snapshot_epochs": (1,),
                                        "checkpoint.snapshot_every_epochs": 3})
  result = train.train_and_evaluate(config, str(tmp_path))
  steps_per_epoch = 11  # 1,497 training digits in batches of 128.
  # Epoch 2's rolling checkpoint was pruned; epochs 0, 1 (listed), 3 (every 3) and 4 (latest).
  assert checkpoints.saved_steps(str(tmp_path)) == [0, 11, 33, 44]
  assert events.snapshot_epochs(config.checkpoint, 4) == [0, 1, 3]

  loaded = checkpoints.load(str(tmp_path), seed_index=1)
  assert loaded["step"] == 4 * steps_per_epoch
  for a, b in zip(jax.tree.leaves(loaded["params"]), jax.tree.leaves(result.state.params),
                  strict=True):
    np.testing.assert_array_equal(a, np.asarray(b)[1])

  # Offline analysis from checkpoints alone reproduces the logged layer rotation.
  initial = checkpoints.load(str(tmp_path), step=0, seed_index=1)["params"]
  rotation = metrics.layer_rotation(loaded["params"], initial)
  logged = result.final[(1, "train")]
  for path, value in rotation.items():
    assert float(value) == pytest.approx(logged[f"layer_rotation/{path}"], rel=1e-5)


def test_loading_a_step_that_was_not_kept_lists_the_saved_steps(tiny_config, tmp_path):
  train.train_and_evaluate(tiny_config(**{"train.num_epochs": 1}), str(tmp_path))
  with pytest.raises(checkpoints.CheckpointError, match=r"saved steps: \[0, 11\]"):
    checkpoints.load(str(tmp_path), step=5)
  with pytest.raises(checkpoints.CheckpointError, match="no checkpoints"):
    checkpoints.load(str(tmp_path / "missing"))


def test_command_line_lists_and_reports_bad_names():
  listing = subprocess.run([sys.executable, "-m", "jaxgen.main", "--list"], check=True,
                           capture_output=True, text=True).stdout
  assert "mnist_embedded" in listing and "layca" in listing
  failed = subprocess.run([sys.executable, "-m", "jaxgen.main", "--config=configs/default.py",
                           "--workdir=/tmp/never", "--config.model.name=vgg99"],
                          capture_output=True, text=True)
  assert failed.returncode != 0
  assert "config.model.name='vgg99' is not a known model; valid choices:" in failed.stderr
