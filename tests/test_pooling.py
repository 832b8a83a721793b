"""`pooling.max_pool` equals `flax.linen.max_pool` in value and gradient, ties included.

Ties get the gradient at the first maximum of the window in row-major order in both. Values
are equal bit for bit; so are gradients of non-overlapping windows; where windows overlap an
input sums the gradients of up to 4 windows, possibly in another order (float tolerance).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import pooling

CASES = [  # (input shape, window, strides, padding): the models' pools, with odd sizes too.
    ((2, 8, 6, 3), (2, 2), (2, 2), "VALID"),
    ((2, 9, 7, 3), (2, 2), (2, 2), "VALID"),
    ((2, 8, 8, 3), (3, 3), (2, 2), "SAME"),
    ((2, 7, 9, 3), (3, 3), (2, 2), "SAME"),
    ((2, 8, 8, 3), (3, 3), (2, 2), ((1, 1), (1, 1))),
]


def _inputs(shape, ties):
  rng = np.random.default_rng(0)
  if ties:  # Few distinct values, half of them 0 as after a ReLU: most windows have ties.
    return jnp.asarray(np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32))
  return jnp.asarray(rng.normal(size=shape).astype(np.float32))


def _value_and_grad(pool, x):
  weights = jnp.asarray(np.random.default_rng(1).normal(size=pool(x).shape).astype(np.float32))
  return jax.value_and_grad(lambda x: jnp.sum(pool(x) * weights))(x), pool(x)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shape, window, strides, padding", CASES)
def test_max_pool_equals_flax_in_value_and_gradient(shape, window, strides, padding, ties):
  x = _inputs(shape, ties)
  (_, grad), value = _value_and_grad(
      jax.jit(lambda x: pooling.max_pool(x, window, strides, padding)), x)
  (_, expected_grad), expected = _value_and_grad(
      jax.jit(lambda x: nn.max_pool(x, window, strides, padding)), x)
  np.testing.assert_array_equal(value, expected)
  if window == strides:
    np.testing.assert_array_equal(grad, expected_grad)
  else:
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-6, atol=1e-6)
  if ties:  # Each window's gradient went to one element: the totals match, window by window.
    assert float(jnp.sum(grad != 0)) <= value.size


def test_tie_gets_the_gradient_at_the_first_maximum_in_row_major_order():
  x = jnp.asarray([[0.0, 1.0], [1.0, 1.0]]).reshape(1, 2, 2, 1)
  grad = jax.grad(lambda x: jnp.sum(pooling.max_pool(x, (2, 2))))(x)
  np.testing.assert_array_equal(grad.reshape(2, 2), [[0.0, 1.0], [0.0, 0.0]])


def test_max_pool_equals_pytorch_max_pool2d_gradient_with_ties():
  torch = pytest.importorskip("torch")
  x = _inputs((2, 8, 8, 3), ties=True)
  grad = jax.grad(lambda x: jnp.sum(pooling.max_pool(x, (3, 3), (2, 2), ((1, 1), (1, 1)))))(x)
  x_torch = torch.tensor(np.asarray(x).transpose(0, 3, 1, 2), requires_grad=True)
  torch.nn.functional.max_pool2d(x_torch, 3, 2, padding=1).sum().backward()
  np.testing.assert_array_equal(np.asarray(grad), x_torch.grad.numpy().transpose(0, 2, 3, 1))
