"""Many steps per dispatch: a run whose steps between events loop on device (one dispatch per
chunk) equals the run that dispatches one step at a time, bit for bit.

On CPU, the platform of the tests, the trainer dispatches one step at a time by default (see
`program.build_program`); these tests force the loop on device, for the tiny MLP, where XLA:CPU
compiles the loop's body as it compiles the one-step program. One run is shared by the tests:
2 seeds, 3 epochs of 11 steps, logging every 4 steps, so that chunks of 4, 3, 2 and 1 steps
occur, and a train-accuracy target that stops seed 1 at step 20 and seed 0 at step 24.
"""

import functools

import jax
import numpy as np
import pytest

from jaxgen import checkpoints, program, run_log, run_setup, train
from jaxgen.train_state import DATA_STREAM
from tests.conftest import make_tiny_config

OVERRIDES = {"seeds": (0, 1), "train.num_epochs": 3, "train.log_every_steps": 4,
             "train.stop.target_train_accuracy": 0.89}


def _without_time(workdir):
  return [{k: v for k, v in row.items() if k != "wall_time"}
          for row in run_log.read_metrics(str(workdir))]


def _assert_same_state(a, b):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _loop_on_device(monkeypatch, loop_on_device=True):
  monkeypatch.setattr(run_setup, "build_program",
                      functools.partial(program.build_program, loop_on_device=loop_on_device))


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
  with pytest.MonkeyPatch.context() as monkeypatch:
    _loop_on_device(monkeypatch)
    workdir = tmp_path_factory.mktemp("chunked")
    return train.train_and_evaluate(make_tiny_config(**OVERRIDES), str(workdir)), workdir


def test_chunked_run_equals_one_step_per_dispatch_bit_for_bit(chunked, tmp_path, monkeypatch):
  lengths = []
  original_chunk = program._loop_on_host

  def recording_chunk(state, order, num_steps, *args, **kwargs):
    lengths.append(int(num_steps))
    return original_chunk(state, order, num_steps, *args, **kwargs)

  monkeypatch.setattr(program, "_loop_on_host", recording_chunk)
  _loop_on_device(monkeypatch, False)
  per_step = train.train_and_evaluate(make_tiny_config(**OVERRIDES), str(tmp_path))
  result, workdir = chunked
  assert sorted(set(lengths)) == [1, 2, 3, 4]
  assert (result.stopped[1].step, result.stopped[0].step) == (20, 24)  # Seed 1 stops first.
  assert per_step.jitted.train_step._cache_size() == 1
  _assert_same_state(result.state, per_step.state)
  assert _without_time(workdir) == _without_time(tmp_path)


def test_chunk_compiles_once_per_run_whatever_its_length(chunked):
  result, _ = chunked
  assert result.jitted.train_chunk._cache_size() == 1
  assert result.jitted.epoch_order._cache_size() == 1


def test_epoch_order_is_the_permutation_drawn_from_each_seeds_data_stream(chunked):
  result, _ = chunked
  orders = np.asarray(result.jitted.epoch_order(result.state.rng, np.int32(2)))
  for i, seed in enumerate(OVERRIDES["seeds"]):
    data_key = jax.random.fold_in(jax.random.PRNGKey(seed), DATA_STREAM)
    expected = jax.random.permutation(jax.random.fold_in(data_key, 2), orders.shape[1])
    np.testing.assert_array_equal(orders[i], expected)


def test_interrupted_chunked_run_resumes_to_the_uninterrupted_result(chunked, tmp_path,
                                                                     monkeypatch):
  # Killed while logging step 16: the epoch-1 checkpoint (step 11, mid-interval) survives.
  original_write = run_log.RunLog.write

  def dying_write(self, rows):
    if rows[0]["step"] == 16:
      raise KeyboardInterrupt
    original_write(self, rows)

  monkeypatch.setattr(run_log.RunLog, "write", dying_write)
  _loop_on_device(monkeypatch)
  config = make_tiny_config(**OVERRIDES)
  with pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(config, str(tmp_path))
  monkeypatch.setattr(run_log.RunLog, "write", original_write)
  assert checkpoints.saved_steps(str(tmp_path)) == [0, 11]

  resumed = train.train_and_evaluate(config, str(tmp_path))
  result, workdir = chunked
  _assert_same_state(result.state, resumed.state)
  assert _without_time(workdir) == _without_time(tmp_path)
  assert resumed.jitted.train_chunk._cache_size() == 1
