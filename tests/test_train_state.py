"""A run's state holds only the reference snapshots that its configured metrics declare."""

import jax
import jax.numpy as jnp
import numpy as np

from configs import default
from configs.hyperplanes import cifar10
from jaxgen import sharding, train
from jaxgen.config import apply_overrides
from jaxgen.config.validation import model_kwargs
from jaxgen.models import build_model
from jaxgen.optim.optimizers import build_optimizer
from jaxgen.program import build_program

SMALL_LEAVES = 6  # step, rng, active and the three train sums.


def _abstract_state(config, image_shape, num_classes=10, steps_per_epoch=10):
  """The state `program.init` would build, as shapes only: nothing is initialised."""
  model = build_model(config.model.name, num_classes, **model_kwargs(config.model))
  tx, _ = build_optimizer(config.optim, steps_per_epoch)
  program = build_program(config, model, tx, sharding.make_mesh(config),
                          np.zeros((1, *image_shape), np.float32),
                          steps_per_epoch * config.train.batch_size)
  seeds = jax.ShapeDtypeStruct((len(config.seeds),), jnp.int32)
  return jax.eval_shape(program.init, seeds)


def _count(tree):
  return len(jax.tree.leaves(tree))


def _counts(state):
  return {field: _count(getattr(state, field)) for field in (
      "params", "opt_state", "batch_stats", "initial_params", "previous_params")}


def test_hyperplane_vgg_state_holds_no_previous_params_and_no_reference_without_rotation():
  config = cifar10.get_config("vgg11")
  # The study config also logs layer rotation, which compares with the initial parameters.
  assert set(config.metrics.names) == {"projection_mass", "projection_mean", "layer_rotation"}
  state = _abstract_state(config, (32, 32, 3))
  counts = _counts(state)
  assert state.previous_params is None and counts["initial_params"] == counts["params"]
  assert jax.tree.map(lambda x: x.shape, state.initial_params) == jax.tree.map(
      lambda x: x.shape, state.params)

  apply_overrides(config, {"metrics.names": ("projection_mass", "projection_mean")})
  state = _abstract_state(config, (32, 32, 3))
  counts = _counts(state)
  assert state.initial_params is None and state.previous_params is None
  # Every parameter-sized leaf is a parameter or optimizer state (VGG11 has no batch stats).
  assert counts["batch_stats"] == 0
  assert _count(state) == counts["params"] + counts["opt_state"] + SMALL_LEAVES


def test_default_state_holds_initial_and_previous_params():
  config = default.get_config()
  assert set(config.metrics.names) == {"layer_rotation", "relative_weight_change"}
  state = _abstract_state(config, (28, 28, 1))
  counts = _counts(state)
  assert counts["initial_params"] == counts["previous_params"] == counts["params"] > 0
  assert _count(state) == (3 * counts["params"] + counts["opt_state"] + counts["batch_stats"]
                           + SMALL_LEAVES)


def test_run_keeping_only_previous_params_measures_and_updates_them(tiny_config, tmp_path):
  config = tiny_config(**{"metrics.names": ("step_rotation",), "train.num_epochs": 1})
  result = train.train_and_evaluate(config, str(tmp_path))
  assert result.state.initial_params is None
  # The last logging event set the reference to the final parameters.
  for a, b in zip(jax.tree.leaves(result.state.previous_params),
                  jax.tree.leaves(result.state.params), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert result.final[(0, "train")]["step_rotation/Dense_0/kernel"] > 0
