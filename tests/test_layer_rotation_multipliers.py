"""Layer-wise learning-rate multipliers: the α profile, path rules and the optax transform."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.config import ConfigError
from jaxgen.optim.multipliers import alpha_multipliers, layerwise_multipliers, multiplier_tree
from jaxgen.path_rules import flatten


def _params() -> dict:
  """Block_0/Conv_0 -> BatchNorm_1 -> Conv_2 -> Dense_3, with biases; nonzero values.

  jax flattens dicts in sorted key order, so the names are chosen to sort in network order.
  """
  rng = np.random.default_rng(0)
  shapes = {"Block_0": {"Conv_0": {"kernel": (3, 3, 1, 2), "bias": (2,)}},
            "BatchNorm_1": {"scale": (2,), "bias": (2,)},
            "Conv_2": {"kernel": (3, 3, 2, 3), "bias": (3,)},
            "Dense_3": {"kernel": (3, 2), "bias": (2,)}}
  return jax.tree.map(lambda shape: jnp.asarray(rng.standard_normal(shape), jnp.float32),
                      shapes, is_leaf=lambda x: isinstance(x, tuple))


@pytest.mark.parametrize("num_layers", [2, 5, 25])
@pytest.mark.parametrize("alpha", [-0.6, 0.0, 0.4])
def test_alpha_multipliers_follow_the_papers_formula(num_layers, alpha):
  mults = alpha_multipliers(num_layers, alpha)
  last = num_layers - 1
  if alpha > 0:
    expected = [(1 - alpha) ** (5 * (last - i) / last) for i in range(num_layers)]
  else:
    expected = [(1 + alpha) ** (5 * i / last) for i in range(num_layers)]
  np.testing.assert_allclose(mults, expected, rtol=1e-12)
  first, final = {-0.6: (1.0, 0.01024), 0.0: (1.0, 1.0), 0.4: (0.07776, 1.0)}[alpha]
  assert mults[0] == pytest.approx(first, rel=1e-12)
  assert mults[-1] == pytest.approx(final, rel=1e-12)


def test_alpha_multipliers_explicit_values():
  np.testing.assert_allclose(alpha_multipliers(5, 0.4), [0.6**5, 0.6**3.75, 0.6**2.5,
                                                         0.6**1.25, 1.0], rtol=1e-12)
  np.testing.assert_allclose(alpha_multipliers(5, -0.6), [1.0, 0.4**1.25, 0.4**2.5,
                                                          0.4**3.75, 0.4**5], rtol=1e-12)
  assert alpha_multipliers(1, 0.4) == [1.0]


def test_alpha_multipliers_reject_alpha_outside_the_open_interval():
  with pytest.raises(ConfigError, match="alpha"):
    alpha_multipliers(3, 1.0)


def test_alpha_tree_gives_each_module_its_kernels_multiplier_and_batchnorm_one():
  mults = flatten(multiplier_tree(_params(), alpha=0.4))
  first, middle = 0.6**5, 0.6**2.5
  assert mults == pytest.approx({
      "BatchNorm_1/bias": 1.0, "BatchNorm_1/scale": 1.0,
      "Block_0/Conv_0/bias": first, "Block_0/Conv_0/kernel": first,
      "Conv_2/bias": middle, "Conv_2/kernel": middle,
      "Dense_3/bias": 1.0, "Dense_3/kernel": 1.0}, rel=1e-12)


def test_rules_tree_takes_the_first_matching_rule():
  rules = [(r"Block_0/.*", 0.5), (r".*/kernel", 2.0), (r".*", 1.0)]
  mults = flatten(multiplier_tree(_params(), rules=rules))
  assert mults["Block_0/Conv_0/kernel"] == 0.5 and mults["Block_0/Conv_0/bias"] == 0.5
  assert mults["Conv_2/kernel"] == 2.0 and mults["Dense_3/kernel"] == 2.0
  assert mults["Dense_3/bias"] == 1.0 and mults["BatchNorm_1/scale"] == 1.0


def test_rules_that_miss_a_parameter_raise_naming_it():
  tx = layerwise_multipliers(rules=[(r".*/kernel", 2.0)])
  with pytest.raises(ConfigError, match=r"multiplier_rules.*'BatchNorm_1/bias'"):
    tx.update(_params(), tx.init(_params()))


def test_alpha_and_rules_together_raise():
  with pytest.raises(ConfigError, match="either"):
    multiplier_tree(_params(), alpha=0.4, rules=[(".*", 1.0)])


def test_sgd_with_rule_multipliers_scales_each_leafs_step_exactly():
  params, grads = _params(), jax.tree.map(lambda x: 2.0 * x + 1.0, _params())
  rules = [(r"Block_0/.*", 0.5), (r"BatchNorm_1/.*", 0.0), (r".*", 3.0)]
  tx = optax.chain(optax.sgd(0.1), layerwise_multipliers(rules=rules))
  updates, _ = jax.jit(tx.update)(grads, tx.init(params), params)
  mults = flatten(multiplier_tree(params, rules=rules))
  for path, update in flatten(updates).items():
    np.testing.assert_allclose(update, -0.1 * mults[path] * flatten(grads)[path], rtol=1e-6)


def test_sgd_with_alpha_multipliers_scales_each_layers_step():
  params = grads = _params()
  tx = optax.chain(optax.sgd(1.0), layerwise_multipliers(alpha=-0.6))
  updates, g = flatten(tx.update(grads, tx.init(params))[0]), flatten(grads)
  np.testing.assert_allclose(updates["Dense_3/bias"], -(0.4**5) * g["Dense_3/bias"], rtol=1e-6)
  np.testing.assert_allclose(updates["Conv_2/kernel"], -(0.4**2.5) * g["Conv_2/kernel"], rtol=1e-6)
  np.testing.assert_array_equal(updates["Block_0/Conv_0/kernel"], -g["Block_0/Conv_0/kernel"])
  np.testing.assert_array_equal(updates["BatchNorm_1/scale"], -g["BatchNorm_1/scale"])
