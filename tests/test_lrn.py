"""Small AlexNet's local response normalisation, computed with rsqrt for beta 0.75, equals the
TF formula x / (bias + alpha * windowed sum of squares) ** beta in value and gradient."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.models.randomization import LRN_BETA, local_response_norm


def _reference(x, depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75):
  """The formula, channel by channel with an explicit clipped window."""
  channels = x.shape[-1]
  sums = [jnp.sum(jnp.square(x[..., max(0, c - depth_radius):c + depth_radius + 1]), -1)
          for c in range(channels)]
  return x / (bias + alpha * jnp.stack(sums, -1)) ** beta


def test_local_response_norm_equals_the_formula_in_value_and_gradient():
  assert LRN_BETA == 0.75  # The rsqrt path is the one the model takes.
  rng = np.random.default_rng(0)
  x = jnp.asarray(10 * rng.normal(size=(2, 3, 3, 12)).astype(np.float32))
  weights = jnp.asarray(rng.normal(size=x.shape).astype(np.float32))
  for beta in (0.75, 0.6):  # The rsqrt path and the general power.
    value, grad = jax.value_and_grad(
        lambda x, beta=beta: jnp.sum(local_response_norm(x, beta=beta) * weights))(x)
    expected, expected_grad = jax.value_and_grad(
        lambda x, beta=beta: jnp.sum(_reference(x, beta=beta) * weights))(x)
    np.testing.assert_allclose(local_response_norm(x, beta=beta), _reference(x, beta=beta),
                               rtol=1e-6)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-5, atol=1e-6)
