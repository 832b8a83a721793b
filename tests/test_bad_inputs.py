"""Every bad input fails before training with one ConfigError naming the field, the value and
what is valid, and leaves the workdir as it was: nothing created, nothing written."""

import os

import pytest

from jaxgen import train
from jaxgen.config import ConfigError, apply_overrides

# (overrides, the message's pattern): a config field outside its valid range or choices.
CASES = [
    ({"seeds": ()}, r"config\.seeds=\(\) must be a non-empty tuple of distinct ints"),
    ({"seeds": (1, 1)}, r"config\.seeds=\(1, 1\) must be a non-empty tuple of distinct ints"),
    ({"data.train_per_class": -1}, r"config\.data\.train_per_class=-1 must be >= 0"),
    ({"data.validation_size": -0.1}, r"config\.data\.validation_size=-0\.1 must be >= 0"),
    ({"data.normalization": "fixed", "data.mean": (0.5,), "data.std": (0.0,)},
     r"config\.data\.std=\(0\.0,\) must be all > 0"),
    ({"data.corruption.num_kept_classes": -2},
     r"config\.data\.corruption\.num_kept_classes=-2 must be >= 0"),
    ({"data.corruption.gaussian_stats": "pixel"},
     r"config\.data\.corruption\.gaussian_stats='pixel'.*valid choices: per_channel, global"),
    ({"data.name": "cifar10", "data.data_dir": "/nonexistent/tensorflow_datasets"},
     r"config\.data\.data_dir='/nonexistent/tensorflow_datasets' must be an existing directory"),
    ({"augment.crop_padding": -4}, r"config\.augment\.crop_padding=-4 must be >= 0"),
    ({"optim.learning_rate": 0.0}, r"config\.optim\.learning_rate=0\.0 must be > 0"),
    ({"optim.warmup_epochs": -1}, r"config\.optim\.warmup_epochs=-1 must be >= 0"),
    ({"optim.warmup_start_factor": 1.5},
     r"config\.optim\.warmup_start_factor=1\.5 must be in \[0, 1\]"),
    ({"optim.momentum": -0.9}, r"config\.optim\.momentum=-0\.9 must be in \[0, 1\)"),
    ({"optim.momentum": 1.0}, r"config\.optim\.momentum=1\.0 must be in \[0, 1\)"),
    ({"optim.b2": 1.0}, r"config\.optim\.b2=1\.0 must be in \[0, 1\)"),
    ({"optim.eps": 0.0}, r"config\.optim\.eps=0\.0 must be > 0"),
    ({"optim.alpha": 1.0}, r"config\.optim\.alpha=1\.0 must be in \(-1, 1\)"),
    ({"optim.decay_factor": 0.0}, r"config\.optim\.decay_factor=0\.0 must be > 0"),
    ({"optim.milestones": (-1, 3)},
     r"config\.optim\.milestones=\(-1, 3\) must be a tuple of epochs \(ints >= 0\)"),
    ({"optim.base": "sgdm"}, r"config\.optim\.base='sgdm'.*valid choices: sgd, sgd_amom"),
    ({"optim.weight_decay": -1e-4}, r"config\.optim\.weight_decay=-0\.0001 must be >= 0"),
    ({"optim.weight_decay_rule": "(kernel"},
     r"config\.optim\.weight_decay_rule='\(kernel' is not a valid regular expression"),
    ({"optim.multiplier_rules": ((".*", -1.0),)},
     r"config\.optim\.multiplier_rules=.* must be \(\(regex, multiplier >= 0\), \.\.\.\)"),
    ({"optim.copy_rotation_from": "/nonexistent/run"},
     r"config\.optim\.copy_rotation_from='/nonexistent/run' must be the workdir of an existing"),
    ({"optim.learning_ratee": 0.1},
     r"config\.optim\.learning_ratee is not a config field \(did you mean "
     r"config\.optim\.learning_rate\?\)"),
    ({"train.num_epochs": 0}, r"config\.train\.num_epochs=0 must be > 0"),
    ({"train.num_epochs": -3}, r"config\.train\.num_epochs=-3 must be > 0"),
    ({"train.batch_size": 0}, r"config\.train\.batch_size=0 must be > 0"),
    ({"train.eval_batch_size": -1}, r"config\.train\.eval_batch_size=-1 must be > 0"),
    ({"train.log_every_steps": -1}, r"config\.train\.log_every_steps=-1 must be >= 0"),
    ({"train.stop.target_train_loss": -0.5},
     r"config\.train\.stop\.target_train_loss=-0\.5 must be >= 0"),
    ({"train.stop.plateau_epochs": -1}, r"config\.train\.stop\.plateau_epochs=-1 must be >= 0"),
    ({"train.stop.target_train_accuracy": 95.0},
     r"config\.train\.stop\.target_train_accuracy=95\.0 must be a fraction in \[0, 1\]"),
    ({"metrics.layer_rule": "*kernel"},
     r"config\.metrics\.layer_rule='\*kernel' is not a valid regular expression"),
    ({"checkpoint.every_epochs": -1}, r"config\.checkpoint\.every_epochs=-1 must be >= 0"),
    ({"checkpoint.snapshot_every_epochs": -2},
     r"config\.checkpoint\.snapshot_every_epochs=-2 must be >= 0"),
    ({"checkpoint.snapshot_epochs": (1, -1)},
     r"config\.checkpoint\.snapshot_epochs=\(1, -1\) must be a tuple of epochs"),
    ({"sharding.seed_axis_size": 0}, r"config\.sharding\.seed_axis_size=0 must be >= 1"),
    # Checked against the loaded data, after the workdir was locked: still nothing left.
    ({"train.batch_size": 4096}, r"config\.train\.batch_size=4096 exceeds the 1497 training"),
    ({"train.eval_top_k": (11,)}, r"config\.train\.eval_top_k=\(11,\): each k must be in "
                                  r"\[1, 10\]"),
]


def _listing(path) -> list[tuple[str, float]]:
  return sorted((os.path.join(root, name), os.path.getmtime(os.path.join(root, name)))
                for root, dirs, names in os.walk(path) for name in names + dirs)


@pytest.mark.parametrize("overrides, message", CASES,
                         ids=[",".join(overrides) for overrides, _ in CASES])
def test_bad_input_names_the_field_and_changes_nothing(tiny_config, tmp_path, overrides,
                                                       message):
  new = tmp_path / "new" / "run"  # Neither it nor its parent exists yet.
  with pytest.raises(ConfigError, match=message):
    train.train_and_evaluate(tiny_config(**overrides), str(new))
  assert not os.path.exists(tmp_path / "new")

  existing = tmp_path / "existing"
  existing.mkdir()
  (existing / "notes.txt").write_text("mine")
  before = _listing(existing)
  with pytest.raises(ConfigError, match=message):
    train.train_and_evaluate(tiny_config(**overrides), str(existing))
  assert _listing(existing) == before


def test_a_workdir_that_is_a_file_is_refused(tiny_config, tmp_path):
  path = tmp_path / "results.txt"
  path.write_text("not a run")
  with pytest.raises(ConfigError, match=r"workdir '.*results\.txt' is a file"):
    train.train_and_evaluate(tiny_config(), str(path))
  assert path.read_text() == "not a run"


@pytest.mark.parametrize("overrides, message", [
    ({"optimm.learning_rate": 0.1}, r"config\.optimm\.learning_rate: there is no section "
                                    r"'optimm' here; valid sections and fields: .*optim"),
    ({"train.num_epochs": 2.5}, r"config\.train\.num_epochs=2\.5 cannot be set"),
    ({"train.batch_size": "64"}, r"config\.train\.batch_size='64' cannot be set"),
])
def test_an_override_of_a_missing_section_or_wrong_type_names_the_field(tiny_config, overrides,
                                                                        message):
  config = tiny_config()
  with pytest.raises(ConfigError, match=message):
    apply_overrides(config, overrides)


def test_a_different_config_on_an_existing_run_changes_nothing_in_it(tiny_config, tmp_path):
  train.train_and_evaluate(tiny_config(**{"train.num_epochs": 1}), str(tmp_path))
  os.remove(tmp_path / "run.lock")  # As a run saved before workdirs were locked.
  before = _listing(tmp_path)
  with pytest.raises(ConfigError, match=r"config\.optim\.learning_rate: 0\.1 -> 0\.2"):
    train.train_and_evaluate(tiny_config(**{"train.num_epochs": 1,
                                            "optim.learning_rate": 0.2}), str(tmp_path))
  assert _listing(tmp_path) == before
