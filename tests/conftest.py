"""Shared fixtures: a tiny config on the embedded 8x8 digits, and a compilation cache."""

import os

import jax
import pytest

from configs import default
from jaxgen.config import apply_overrides

pytest_plugins = ["tests.slurm_cluster"]

# Repeated compiles of the same tiny programs across tests hit this cache.
jax.config.update("jax_compilation_cache_dir",
                  os.path.expanduser("~/.cache/jaxgen-tests/jax-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def make_tiny_config(**overrides):
  """The default config shrunk to seconds: an MLP on 8x8 digits, 2 epochs of 11 steps."""
  config = default.get_config()
  config.data.name = "digits"
  config.model = {"name": "mlp", "widths": (32,), "batch_norm": False, "dropout_rate": 0.0}
  config.train.batch_size = 128
  config.train.eval_batch_size = 300
  config.train.num_epochs = 2
  config.optim.learning_rate = 0.1
  config.logging.tensorboard = False
  config.logging.figures = False
  apply_overrides(config, overrides)
  return config


@pytest.fixture
def tiny_config():
  return make_tiny_config


def forward_train_and_eval(model, variables, x):
  """Two train-mode passes (different dropout rngs) and two eval-mode passes of a model:
  (batch-stat updates, (train logits a, b), (eval logits a, b))."""

  def train(seed):
    return model.apply(variables, x, train=True, mutable=["batch_stats"],
                       rngs={"dropout": jax.random.key(seed)})

  (train_a, updates), (train_b, _) = train(3), train(4)
  eval_a = model.apply(variables, x, train=False)
  eval_b = model.apply(variables, x, train=False, rngs={"dropout": jax.random.key(5)})
  return updates, (train_a, train_b), (eval_a, eval_b)
