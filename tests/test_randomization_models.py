"""Parameter counts and forward shapes of the Zhang et al. (2017) networks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import build_model
from jaxgen.models.randomization import local_response_norm

PARAM_COUNTS = {
    "mlp_1x512": 1_209_866,
    "mlp_3x512": 1_735_178,
    "alexnet_small": 1_387_786,
    "inception_small": 1_649_402,
    "inception_small_nobn": 1_649_402,
}
INPUT_SHAPE = (2, 28, 28, 3)
# Only shapes are checked, so skip XLA's expensive optimisations: halves the Inception compile.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _init(model, x):
  return model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x, train=False)


@pytest.mark.parametrize("name", sorted(PARAM_COUNTS))
def test_exact_parameter_count(name):
  variables = jax.eval_shape(lambda: _init(build_model(name, 10), jnp.zeros(INPUT_SHAPE)))
  assert sum(leaf.size for leaf in jax.tree.leaves(variables["params"])) == PARAM_COUNTS[name]


def _cheap_variables(model, x):
  """Small random params and unit BN statistics without running `init`.

  Eager or jitted `init` of the Inception net takes 10-25 s on CPU (one compile per initialiser);
  filling `eval_shape` leaves from NumPy keeps the forward test within a few seconds.
  """
  shapes = jax.eval_shape(lambda: _init(model, x))
  rng = np.random.default_rng(0)
  return {
      "params": jax.tree.map(
          lambda s: jnp.asarray(0.05 * rng.standard_normal(s.shape), s.dtype), shapes["params"]),
      **{col: jax.tree.map(lambda s: jnp.ones(s.shape, s.dtype), tree)
         for col, tree in shapes.items() if col != "params"},
  }


@pytest.mark.parametrize("name", sorted(PARAM_COUNTS))
def test_forward_shape_train_and_eval(name):
  model = build_model(name, 10)
  x = jax.random.normal(jax.random.key(2), INPUT_SHAPE)
  variables = _cheap_variables(model, x)
  train_fn = jax.jit(lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats"],
                                              rngs={"dropout": jax.random.key(3)}),
                     compiler_options=FAST_COMPILE)
  logits, updates = train_fn(variables, x)
  assert logits.shape == (2, 10)
  assert set(updates) == ({"batch_stats"} if name == "inception_small" else set())
  eval_fn = jax.jit(lambda v, x: model.apply(v, x, train=False), compiler_options=FAST_COMPILE)
  logits = eval_fn(variables, x)
  assert logits.shape == (2, 10) and bool(jnp.all(jnp.isfinite(logits)))


def test_local_response_norm_matches_tf_formula():
  x = np.random.default_rng(0).normal(size=(2, 3, 3, 12)).astype(np.float32)
  r, bias, alpha, beta = 4, 1.0, 0.001 / 9, 0.75
  expected = np.empty_like(x)
  for c in range(x.shape[-1]):
    sqr_sum = np.sum(x[..., max(0, c - r):c + r + 1] ** 2, axis=-1)
    expected[..., c] = x[..., c] / (bias + alpha * sqr_sum) ** beta
  np.testing.assert_allclose(local_response_norm(jnp.asarray(x)), expected, rtol=1e-5)
