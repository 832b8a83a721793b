"""Every bad input fails before training with one error naming the field and the choices."""

import json
import os

import pytest

from jaxgen import train
from jaxgen.config import ConfigError, check_resume, read_run_config
from jaxgen.config.saved import CONFIG_FILE

# Fields added to jaxgen after its first runs were saved: a config.json without them is read
# with their schema defaults.
ADDED_FIELDS = ("data.resize", "data.mean", "data.std", "optim.gradient_noise", "train.shuffle",
                "train.eval_top_k", "train.stop.target_test_accuracy",
                "metrics.projection_with_linear")


@pytest.mark.parametrize("overrides, message", [
    ({"data.name": "imagenet21k"}, r"config\.data\.name='imagenet21k'.*valid choices:.*cifar10"),
    ({"model.name": "gpt"}, r"config\.model\.name='gpt'.*valid choices:.*mlp"),
    ({"optim.name": "lion"}, r"config\.optim\.name='lion'.*valid choices:.*adam"),
    ({"optim.schedule": "cosine"}, r"config\.optim\.schedule='cosine'.*valid choices:.*step"),
    ({"metrics.names": ("layer_rotation", "sharpness")},
     r"config\.metrics\.names='sharpness'.*valid choices:.*layer_rotation"),
    ({"metrics.rwc_variant": "l2"}, r"config\.metrics\.rwc_variant='l2'.*elementwise_mean"),
    ({"data.normalization": "zca"}, r"config\.data\.normalization='zca'.*per_channel"),
    ({"optim.learning_rate": -0.1}, r"config\.optim\.learning_rate=-0\.1 must be > 0"),
    ({"optim.weight_decay_convention": "tf"}, r"weight_decay_convention='tf'.*keras"),
    ({"data.validation_size": 5000},
     r"config\.data\.validation_size=5000(\.0)? leaves no training"),
    ({"data.validation_size": 0.0111}, r"cannot be stratified evenly over 10 classes"),
    ({"train.batch_size": 4096}, r"config\.train\.batch_size=4096 exceeds"),
    ({"seeds": ()}, r"config\.seeds"),
    ({"data.corruption.kind": "noise"},
     r"config\.data\.corruption\.kind='noise'.*valid choices:.*random_labels"),
    ({"data.corruption.level": 1.5}, r"config\.data\.corruption\.level=1\.5 must be in"),
    ({"train.stop.target_test_accuracy": 94.0},
     r"config\.train\.stop\.target_test_accuracy=94\.0 must be a fraction in \[0, 1\]"),
    ({"data.normalization": "fixed"}, r"normalization='fixed' needs config\.data\.mean"),
    ({"optim.gradient_noise": -1e-6}, r"config\.optim\.gradient_noise=-1e-06 must be >= 0"),
    ({"train.eval_top_k": (0,)}, r"config\.train\.eval_top_k=\(0,\) must be a tuple of ints"),
])
def test_bad_config_value_names_field_and_choices(tiny_config, tmp_path, overrides, message):
  with pytest.raises(ConfigError, match=message):
    train.train_and_evaluate(tiny_config(**overrides), str(tmp_path))
  assert not os.path.exists(tmp_path / "checkpoints")


def test_unknown_model_argument_lists_valid_arguments(tiny_config, tmp_path):
  config = tiny_config()
  config.model.depth = 3
  with pytest.raises(ConfigError, match=r"config\.model\.depth.*valid arguments: widths"):
    train.train_and_evaluate(config, str(tmp_path))


def test_resume_with_a_different_config_is_refused(tiny_config, tmp_path):
  train.train_and_evaluate(tiny_config(), str(tmp_path))
  with pytest.raises(ConfigError, match=r"config\.optim\.learning_rate: 0\.1 -> 0\.2"):
    train.train_and_evaluate(tiny_config(**{"optim.learning_rate": 0.2}), str(tmp_path))


def test_a_config_saved_before_fields_were_added_still_resumes(tiny_config, tmp_path):
  train.train_and_evaluate(tiny_config(), str(tmp_path))
  path = tmp_path / CONFIG_FILE
  saved = json.loads(path.read_text())
  for field in ADDED_FIELDS:  # As an older jaxgen wrote it.
    *sections, name = field.split(".")
    parent = saved
    for section in sections:
      parent = parent[section]
    del parent[name]
  path.write_text(json.dumps(saved))
  check_resume(str(tmp_path), tiny_config())  # The defaults: accepted.
  with pytest.raises(ConfigError, match=r"config\.train\.shuffle: True -> False"):
    check_resume(str(tmp_path), tiny_config(**{"train.shuffle": False}))
  # Analysis code reads the old run with the missing fields at their schema defaults.
  loaded = read_run_config(str(tmp_path))
  assert loaded.train.shuffle is True and loaded.optim.gradient_noise == 0.0
  assert loaded.optim.learning_rate == 0.1


def test_main_lists_registries(capsys):
  from jaxgen import catalog

  listing = catalog.describe()
  for expected in ("mnist_embedded", "cifar10", "small_cnn", "sgd", "layer_rotation",
                   "configs/default.py"):
    assert expected in listing
