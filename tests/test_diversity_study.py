"""The feature-diversity study: its configs, and symmetry breaking in a short CPU run."""

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs.diversity import base, constnet, leakynet, mnist_cpu
from jaxgen import run_log, train
from jaxgen.analysis import diversity as diversity_analysis
from jaxgen.config import apply_overrides
from jaxgen.config.saved import CONFIG_FILE
from jaxgen.config.validation import validate_config
from jaxgen.models.diversity_inits import LEAKYNET_EXPERIMENTS
from launch import sweep


def test_schedule_drops_at_the_codes_epochs():
  assert base.schedule_milestones(300) == (159, 219, 259)  # 1-based epochs 160, 220, 260.
  assert base.schedule_milestones(200) == (59, 119, 159)
  with pytest.raises(ValueError, match="more than 141 epochs"):
    base.schedule_milestones(100)


@pytest.mark.parametrize("variant", list(constnet.VARIANTS))
def test_constnet_variants_follow_the_code(variant):
  config = constnet.get_config(variant)
  validate_config(config)
  assert (config.model.depth, config.model.widen_factor) == (16, 10)
  assert (config.optim.learning_rate, config.optim.momentum, config.optim.weight_decay) == (
      0.03, 0.9, 5e-4)
  assert config.train.num_epochs == 300 and config.optim.decay_factor == 0.2
  assert config.augment.pad_mode == "reflect" and config.augment.crop_padding == 4
  assert config.data.mean[0] == pytest.approx(125.3 / 255)
  breakers = (config.model.droprate > 0) + (config.optim.gradient_noise > 0)
  assert breakers == (1 if variant in ("dropout", "noise") else 0)
  assert config.model.name == ("varnet" if variant == "varnet" else "constnet")


def test_leakynet_sweep_runs_the_seven_init_strings_of_the_script():
  runs = sweep.expand("configs/diversity/leakynet.py")
  assert [r.overrides["model.init"] for r in runs] == list(LEAKYNET_EXPERIMENTS)
  assert len(runs) == 7
  config = leakynet.get_config("1_iiii_1111_iiii")
  validate_config(config)
  assert config.train.num_epochs == 200 and config.optim.milestones == (59, 119, 159)
  with pytest.raises(ValueError, match="deterministic, dropout, noise, varnet"):
    constnet.get_config("fixup")


def _channel_asymmetry(result) -> dict[str, float]:
  """Per conv kernel: the largest difference between any (input, output) channel pair's taps
  and the first pair's (0 when every channel of the layer is the same)."""
  params = jax.tree.map(lambda x: x[0], result.state.params)
  return {name: float(jnp.abs(module["kernel"] - module["kernel"][..., :1, :1]).max())
          for name, module in params.items() if name.endswith("_conv")}


def _short_run(tmp_path, variant):
  """The CPU config on 1,000 digits for 3 epochs of 7 steps."""
  config = mnist_cpu.get_config()
  apply_overrides(config, {**constnet.VARIANTS[variant], "data.train_per_class": 100,
                           "train.num_epochs": 3, "logging.figures": False,
                           "logging.progress_bar": False, "checkpoint.every_epochs": 0})
  return train.train_and_evaluate(config, str(tmp_path / variant))


def test_deterministic_constnet_stays_symmetric_and_dropout_breaks_it(tmp_path):
  deterministic = _short_run(tmp_path, "deterministic")
  dropout = _short_run(tmp_path, "dropout")
  # XLA:CPU is deterministic: every channel of every conv layer stays exactly identical, and
  # so the forward correlations stay 1 (up to float32 rounding of the measure).
  assert all(value == 0.0 for value in _channel_asymmetry(deterministic).values())
  row = deterministic.final[(0, "train")]
  assert all(row[k] == pytest.approx(1.0, abs=1e-5) for k in row
             if k.startswith("forward_correlation/") and "_conv/" in k)
  broken = _channel_asymmetry(dropout)
  assert all(value > 0.0 for name, value in broken.items() if name != "layer000_conv")


def _fake_run(workdir, backward_last):
  """Two epochs of one seed; layer b has a single input channel (its backward is "nan")."""
  os.makedirs(workdir)
  with open(os.path.join(workdir, CONFIG_FILE), "w") as f:
    json.dump({"seeds": [0]}, f)
  rows = []
  for epoch, backward in ((1, 0.9), (2, backward_last)):
    rows.append({"seed": 0, "split": "train", "step": epoch, "epoch": float(epoch),
                 "accuracy": 0.5 * epoch, "forward_correlation/a/kernel": 0.8 / epoch,
                 "forward_correlation/b/kernel": 0.4, "backward_correlation/a/kernel": backward,
                 "backward_correlation/b/kernel": "nan"})
    rows.append({"seed": 0, "split": "test", "step": epoch, "epoch": float(epoch),
                 "accuracy": 0.4 * epoch})
  with open(os.path.join(workdir, run_log.METRICS_FILE), "w") as f:
    f.writelines(json.dumps(row) + "\n" for row in rows)


def test_diversity_analysis_summarises_each_run_and_draws_the_panels(tmp_path):
  _fake_run(tmp_path / "runs" / "broken", 0.6)
  _fake_run(tmp_path / "runs" / "symmetric", 1.0)
  rows = [r for r in run_log.read_metrics(str(tmp_path / "runs" / "broken"))
          if r["split"] == "train"]
  summary = diversity_analysis.correlation_summary(rows)
  # Layer b, the last, is the output layer: left out of the mean correlations.
  assert summary["forward_first"] == pytest.approx(0.8) and summary["forward_last"] == (
      pytest.approx(0.4))
  assert summary["backward_last"] == pytest.approx(0.6)
  # The Diversity sums every layer; b's backward correlation is undefined ("nan"): left out.
  assert summary["diversity"] == pytest.approx(0.5 * np.log(1 - 0.36))
  assert summary["symmetric_layers"] == 0
  out = tmp_path / "correlations.png"
  completed = subprocess.run(
      [sys.executable, "-m", "jaxgen.analysis.diversity", str(tmp_path / "runs"),
       f"--out={tmp_path}"], capture_output=True, text=True, check=True)
  assert "0.900 -> 0.600" in completed.stdout
  assert "-inf (1 layers with backward correlation exactly 1" in completed.stdout
  assert out.stat().st_size > 0
