"""`train.compute_dtype="bfloat16"`: activations in bfloat16, parameters, batch statistics and
optimizer state in float32, and training steps that track the float32 ones."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import precision, run_setup
from jaxgen.config import ConfigError, validate
from jaxgen.models import build_model
from tests.conftest import make_tiny_config

OVERRIDES = {"model": {"name": "small_cnn", "widths": (4, 8), "hidden": 16, "batch_norm": True},
             "train.batch_size": 32, "metrics.names": ()}
STEPS = 2


def _train(compute_dtype):
  config = make_tiny_config(**OVERRIDES, **{"train.compute_dtype": compute_dtype})
  validate(config)
  setup = run_setup.prepare(config)
  program = setup.program
  state = program.init(jnp.asarray(config.seeds, jnp.int32))
  init = jax.tree.map(np.asarray, state.params)
  order = program.epoch_order(state.rng, np.int32(0))
  state = program.train_chunk(state, order, np.int32(STEPS), *setup.train_data)
  return state, program.eval_step(state, *setup.eval_data["test"]), init


@pytest.fixture(scope="module")
def runs():
  return {dtype: _train(dtype) for dtype in precision.COMPUTE_DTYPES}


def test_parameters_statistics_and_optimizer_state_stay_float32(runs):
  state, evaluation, _ = runs["bfloat16"]
  for tree in (state.params, state.batch_stats, state.opt_state):
    floating = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]
    assert floating and all(x.dtype == jnp.float32 for x in floating)
  assert np.isfinite(float(evaluation["loss"][0]))


def test_bfloat16_steps_track_float32_steps(runs):
  (low, _, init), (full, _, _) = runs["bfloat16"], runs["float32"]
  leaves = zip(*(jax.tree.leaves(tree) for tree in (low.params, full.params, init)), strict=True)
  for a, b, start in leaves:
    # The SGD updates agree to within 15% of the largest update of each parameter: bfloat16
    # keeps 8 bits (0.4%), and the batch-norm offsets sum 32 examples of rounded gradients.
    update_low, update_full = np.asarray(a) - start, np.asarray(b) - start
    scale = np.abs(update_full).max()
    if scale < 1e-6:  # A conv bias before batch norm: no gradient, only bfloat16 rounding.
      continue
    np.testing.assert_allclose(update_low, update_full, atol=0.15 * scale)
    assert not np.array_equal(update_low, update_full)  # Computed in bfloat16.


def test_every_activation_is_bfloat16():
  model = build_model("small_cnn", 10, widths=(4, 8), hidden=16, batch_norm=True)
  x = jnp.ones((2, 8, 8, 1))

  def forward(x):  # Traced only (eval_shape): the dtypes without compiling anything.
    variables = model.init(jax.random.key(0), x, train=False)
    return precision.apply_model(model, variables, x, "bfloat16", train=True,
                                 capture_intermediates=True,
                                 mutable=["batch_stats", "intermediates"])

  logits, updates = jax.eval_shape(forward, x)
  activations = jax.tree.leaves(updates["intermediates"])
  assert len(activations) == 7  # 2 x (Conv, BatchNorm), 2 Dense, and the model's output.
  assert all(a.dtype == jnp.bfloat16 for a in activations) and logits.dtype == jnp.bfloat16
  assert all(s.dtype == jnp.float32 for s in jax.tree.leaves(updates["batch_stats"]))


def test_unknown_compute_dtype_is_a_config_error():
  with pytest.raises(ConfigError, match=r"config\.train\.compute_dtype='float16'.*"
                                        r"valid choices: float32, bfloat16"):
    validate(make_tiny_config(**{"train.compute_dtype": "float16"}))
