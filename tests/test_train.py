"""End-to-end behaviour of `train_and_evaluate` on tiny configs."""

import json
import os
import types

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import checkpoints, run_log, steps, train
from jaxgen.config import ConfigError
from jaxgen.optim import add_gradient_noise


def _params(result, seed_index=0):
  return jax.tree.map(lambda x: np.asarray(x[seed_index]), result.state.params)


def test_run_writes_config_metrics_checkpoints_and_figures(tiny_config, tmp_path):
  config = tiny_config(**{"logging.figures": True, "logging.tensorboard": True})
  train.train_and_evaluate(config, str(tmp_path))

  assert json.loads((tmp_path / "config.json").read_text())["model"]["name"] == "mlp"
  rows = run_log.read_metrics(str(tmp_path))
  train_rows = [r for r in rows if r["split"] == "train"]
  assert [r["epoch"] for r in train_rows] == [1.0, 2.0]
  for row in train_rows:
    for metric in ("layer_rotation", "relative_weight_change"):
      assert {k for k in row if k.startswith(metric)} == {
          f"{metric}/Dense_0/kernel", f"{metric}/Dense_1/kernel"}
  assert {r["split"] for r in rows} == {"train", "test"}
  assert checkpoints.saved_steps(str(tmp_path))[0] == 0
  assert sorted(os.listdir(tmp_path / "figures")) == [
      "layer_rotation.png", "learning_curves.png", "relative_weight_change.png"]
  assert os.listdir(tmp_path / "tensorboard")


def test_every_jitted_function_compiles_once_per_run(tiny_config, tmp_path):
  result = train.train_and_evaluate(tiny_config(**{"train.num_epochs": 3}), str(tmp_path))
  # On CPU, train_chunk dispatches the jitted train_step once per step; no seed stopped, so
  # the step that keeps stopped seeds frozen never ran.
  jitted = {name: fn for name, fn in result.jitted._asdict().items()
            if isinstance(fn, jax.stages.Wrapped)}
  assert {name: fn._cache_size() for name, fn in jitted.items()} == {
      "init": 1, "epoch_order": 1, "train_step": 1, "train_step_with_frozen": 0,
      "eval_step": 1, "measure_step": 1}


def test_trained_model_learns_digits(tiny_config, tmp_path):
  result = train.train_and_evaluate(tiny_config(**{"train.num_epochs": 4}), str(tmp_path))
  assert result.final[(0, "test")]["accuracy"] > 0.85


@pytest.mark.parametrize("overrides", [
    {"data.validation_size": 0.1, "train.stop.plateau_epochs": 5},
    {"data.corruption.kind": "partial_labels", "data.corruption.level": 0.5,
     "augment.random_crop": True, "augment.crop_padding": 1, "augment.flip": True},
    # Per-image pixel permutations are redrawn from their seed on resume.
    {"data.corruption.kind": "random_pixels", "data.corruption.seed": 3},
    # Gradient noise is drawn from the seed and the step: a resumed run redraws it.
    {"optim.gradient_noise": 0.01},
], ids=["plain", "corrupted_labels_and_augmentation", "random_pixels", "gradient_noise"])
def test_resumed_run_equals_uninterrupted_run_bit_for_bit(tiny_config, tmp_path, monkeypatch,
                                                          overrides):
  config = tiny_config(**{"train.num_epochs": 3, **overrides})
  uninterrupted = train.train_and_evaluate(config, str(tmp_path / "a"))

  # Kill the second run while it logs epoch 2: only the epoch-1 checkpoint survives.
  original_write = run_log.RunLog.write
  calls = []

  def dying_write(self, rows):
    calls.append(rows)
    if len(calls) == 2:
      raise KeyboardInterrupt
    original_write(self, rows)

  monkeypatch.setattr(run_log.RunLog, "write", dying_write)
  with pytest.raises(KeyboardInterrupt):
    train.train_and_evaluate(config, str(tmp_path / "b"))
  monkeypatch.setattr(run_log.RunLog, "write", original_write)
  steps_per_epoch = [r for r in calls[0] if r["split"] == "train"][0]["step"]
  assert checkpoints.saved_steps(str(tmp_path / "b")) == [0, steps_per_epoch]

  resumed = train.train_and_evaluate(config, str(tmp_path / "b"))
  for a, b in zip(jax.tree.leaves(uninterrupted.state), jax.tree.leaves(resumed.state),
                  strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

  def without_time(workdir):
    return [{k: v for k, v in r.items() if k != "wall_time"}
            for r in run_log.read_metrics(str(workdir))]

  assert without_time(tmp_path / "a") == without_time(tmp_path / "b")


def test_seed_of_multi_seed_run_equals_single_seed_run(tiny_config, tmp_path):
  multi = train.train_and_evaluate(tiny_config(seeds=(3, 7)), str(tmp_path / "multi"))
  single = train.train_and_evaluate(tiny_config(seeds=(7,)), str(tmp_path / "single"))
  for a, b in zip(jax.tree.leaves(_params(multi, 1)), jax.tree.leaves(_params(single, 0)),
                  strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  # Different seeds differ: own init and data order.
  assert not np.allclose(jax.tree.leaves(_params(multi, 0))[0],
                         jax.tree.leaves(_params(multi, 1))[0])


def test_interpolation_stop_records_when_each_seed_fitted(tiny_config, tmp_path):
  config = tiny_config(seeds=(0, 1), **{"train.num_epochs": 6,
                                        "train.stop.target_train_accuracy": 0.8})
  result = train.train_and_evaluate(config, str(tmp_path))
  assert set(result.stopped) == {0, 1}
  for stop in result.stopped.values():
    assert stop.reason.startswith("fitted")
    assert stop.metrics["train_accuracy"] >= 0.8
    assert "test_accuracy" in stop.metrics and stop.step < 6 * 11
  # A stopped seed stops changing: its final params are those at its stopping step.
  assert max(r["step"] for r in run_log.read_metrics(str(tmp_path))) == max(
      s.step for s in result.stopped.values())


def test_nan_loss_raises_and_keeps_last_good_checkpoint(tiny_config, tmp_path):
  config = tiny_config(**{"optim.learning_rate": 1e30, "train.num_epochs": 3})
  with pytest.raises(train.TrainingDivergedError, match="learning_rate"):
    train.train_and_evaluate(config, str(tmp_path))
  assert checkpoints.saved_steps(str(tmp_path)) == [0]
  assert "train loss became" in run_log.read_summary(str(tmp_path))["diverged"]
  initial = checkpoints.load(str(tmp_path), 0, seed_index=0)
  assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(initial["params"]))


class _LogitsAreInputs(nn.Module):
  """A parameter-free model whose logits are its (flattened) inputs."""

  @nn.compact
  def __call__(self, x, train):
    return x.reshape((x.shape[0], -1))


def test_eval_step_counts_top_k_hits_over_real_examples_with_ties_as_hits(tiny_config):
  config = tiny_config(**{"train.eval_top_k": (1, 2, 3)})
  logits = np.array([[0.1, 0.9, 0.5, 0.0],   # label 1: top-1.
                     [0.8, 0.1, 0.5, 0.3],   # label 2: second largest.
                     [0.4, 0.4, 0.4, 0.1],   # label 2: tied with the largest.
                     [0.9, 0.6, 0.5, 0.1],   # label 3: last.
                     [0.0, 0.0, 0.0, 1.0]])  # padding (mask 0), would be a miss.
  labels = np.array([1, 2, 2, 3, 0])
  mask = np.array([1, 1, 1, 1, 0], np.float32)
  state = types.SimpleNamespace(params={}, batch_stats={})
  values = steps.eval_step(state, jnp.asarray(logits[None, :, :, None, None]),
                           jnp.asarray(labels[None]), jnp.asarray(mask[None]),
                           model=_LogitsAreInputs(), config=config)
  # argmax breaks the tie towards class 0; top-k counts a tie at the boundary as a hit.
  assert float(values["accuracy"]) == 0.25 and float(values["top1_accuracy"]) == 0.5
  assert float(values["top2_accuracy"]) == 0.75
  assert float(values["top3_accuracy"]) == 0.75


def test_top_k_accuracy_is_logged_for_eval_splits_and_k_is_checked(tiny_config, tmp_path):
  result = train.train_and_evaluate(tiny_config(**{"train.eval_top_k": (5, 10)}),
                                    str(tmp_path / "ok"))
  test = result.final[(0, "test")]
  assert test["accuracy"] <= test["top5_accuracy"] < 1.0 and test["top10_accuracy"] == 1.0
  assert "top5_accuracy" not in result.final[(0, "train")]
  with pytest.raises(ConfigError, match=r"eval_top_k=\(11,\).*\[1, 10\]"):
    train.train_and_evaluate(tiny_config(**{"train.eval_top_k": (11,)}), str(tmp_path / "bad"))


def test_gradient_noise_is_iid_gaussian_with_the_given_std_and_changes_training(tiny_config,
                                                                               tmp_path):
  grads = {"a": jnp.zeros((200, 500)), "b": jnp.ones(3)}
  tx = add_gradient_noise(0.1)  # An optax transform; the step's key is an extra argument.
  noisy, _ = tx.update(grads, tx.init(grads), noise_key=jax.random.key(0))
  assert abs(float(noisy["a"].mean())) < 1e-3
  assert float(noisy["a"].std()) == pytest.approx(0.1, rel=0.01)
  again, _ = tx.update(grads, tx.init(grads), noise_key=jax.random.key(1))
  assert not np.allclose(noisy["a"], again["a"])
  plain = train.train_and_evaluate(tiny_config(), str(tmp_path / "plain"))
  noise = train.train_and_evaluate(tiny_config(**{"optim.gradient_noise": 0.01}),
                                   str(tmp_path / "noise"))
  assert not np.allclose(_params(plain)["Dense_0"]["kernel"], _params(noise)["Dense_0"]["kernel"])
