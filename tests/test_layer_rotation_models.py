"""Layer counts, exact parameter counts and one training step of the layer-rotation models."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.models import build_model
from jaxgen.models.layer_rotation import HE_UNIFORM, he_normal
from jaxgen.path_rules import flatten, layer_paths, map_with_path

CIFAR = (2, 32, 32, 3)
# These tests are dominated by XLA's CPU compile time; unoptimised code compiles ~2x faster.
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def _conv(cin: int, cout: int, k: int = 3) -> int:
  return k * k * cin * cout


def _resnet_params(n: int, classes: int) -> int:
  """Stem, 3 stacks of n two-conv blocks (stacks 2, 3 start strided), 2 shortcuts, dense."""
  convs = (_conv(3, 16) + 2 * n * _conv(16, 16)
           + _conv(16, 32) + (2 * n - 1) * _conv(32, 32)
           + _conv(32, 64) + (2 * n - 1) * _conv(64, 64))
  return convs + _conv(16, 32, 1) + _conv(32, 64, 1) + 64 * classes


def _wrn_params(blocks: int, k: int, classes: int) -> int:
  """Input conv, 3 stages of `blocks` two-conv blocks, 1x1 shortcuts where the shape changes."""
  w1, w2, w3 = 16 * k, 32 * k, 64 * k
  convs = (_conv(3, 16)
           + _conv(16, w1) + (2 * blocks - 1) * _conv(w1, w1)
           + _conv(w1, w2) + (2 * blocks - 1) * _conv(w2, w2)
           + _conv(w2, w3) + (2 * blocks - 1) * _conv(w3, w3))
  shortcuts = (_conv(16, w1, 1) if w1 != 16 else 0) + _conv(w1, w2, 1) + _conv(w2, w3, 1)
  return convs + shortcuts + w3 * classes


# name -> (builder kwargs, input shape, kernel layers, parameter count).
SPECS = {
    "c10_cnn1": (
        {"num_classes": 10}, CIFAR, 24 + 1,
        _conv(3, 32) + 5 * _conv(32, 32) + _conv(32, 64) + 5 * _conv(64, 64)
        + _conv(64, 128) + 5 * _conv(128, 128) + _conv(128, 256) + 5 * _conv(256, 256)
        + 256 * 10),
    "tiny_cnn": (
        {"num_classes": 200}, (2, 64, 64, 3), 10 + 1,
        _conv(3, 32) + _conv(32, 32) + _conv(32, 64) + _conv(64, 64) + _conv(64, 128)
        + _conv(128, 128) + _conv(128, 256) + _conv(256, 256) + _conv(256, 512)
        + _conv(512, 512) + 512 * 200),
    "c10_cnn2": (
        {"num_classes": 10}, CIFAR, 13 + 2,
        _conv(3, 64) + _conv(64, 64) + _conv(64, 128) + _conv(128, 128) + _conv(128, 256)
        + 2 * _conv(256, 256) + _conv(256, 512) + 2 * _conv(512, 512) + 3 * _conv(512, 512)
        + 512 * 512 + 512 * 10),
    # 1 stem + 6n block convs + 2 shortcuts + 1 dense.
    "resnet32": ({"num_classes": 100}, CIFAR, 1 + 30 + 2 + 1, _resnet_params(5, 100)),
    "resnet110": ({"num_classes": 10}, CIFAR, 1 + 108 + 2 + 1, _resnet_params(18, 10)),
    # 1 input conv + 12 blocks x 2 convs + 3 shortcuts (16 -> 160 too) + 1 dense.
    "wrn_28_10": ({"num_classes": 100}, CIFAR, 1 + 24 + 3 + 1, _wrn_params(4, 10, 100)),
    # Tiny WRN-10-1: stage 1 keeps 16 channels, so only 2 shortcuts.
    "wrn_10_1": ({"num_classes": 10, "depth": 10, "width": 1}, CIFAR, 1 + 6 + 2 + 1,
                 _wrn_params(1, 1, 10)),
    # Dense 784x784 + bias, BN gamma/beta, Dense 784x10 + bias.
    "mnist_mlp_bn": ({"num_classes": 10}, (2, 784), 2, 784 * 784 + 784 + 2 * 784 + 784 * 10 + 10),
}
REGISTRY_NAME = {"wrn_10_1": "wrn_28_10"}


def _build(key: str):
  kwargs, shape, _, _ = SPECS[key]
  return build_model(REGISTRY_NAME.get(key, key), **kwargs), shape


def _init(model, x):
  return model.init({"params": jax.random.key(0), "dropout": jax.random.key(1)}, x, train=False)


def _random_variables(model, x):
  """Concrete variables without `model.init`: jitting the PRNG init doubles the XLA compile time.

  Kernels get std 1/sqrt(fan_in); the real initializers are checked separately.
  """
  rng = np.random.default_rng(0)

  def fill(path, leaf):
    if path.endswith("var"):
      return jnp.ones(leaf.shape)
    if path.endswith("mean"):
      return jnp.zeros(leaf.shape)
    scale = 1 / np.sqrt(np.prod(leaf.shape[:-1]))
    return jnp.asarray(rng.normal(scale=scale, size=leaf.shape), jnp.float32)

  return map_with_path(fill, jax.eval_shape(lambda: _init(model, x)))


def _abstract_params(key: str):
  model, shape = _build(key)
  return jax.eval_shape(lambda: _init(model, jnp.zeros(shape)))["params"]


def test_published_counts_match_the_arithmetic():
  assert SPECS["resnet32"][3] == 470_192  # Keras example: "ResNet32 0.46M".
  assert SPECS["resnet110"][3] == 1_722_416  # "ResNet110 1.7M".
  assert SPECS["wrn_28_10"][3] == 36_518_832  # WRN-28-10: 36.5M.


@pytest.mark.parametrize("key", sorted(SPECS))
def test_kernel_layers_and_exact_parameter_count(key):
  params = _abstract_params(key)
  _, _, layers, count = SPECS[key]
  paths = layer_paths(params)
  assert len(paths) == layers
  # Zero-padded names make sorted (jax) order the network order, one kernel per layer.
  assert all(path.startswith(f"layer{i:03d}_") for i, path in enumerate(paths))
  assert sum(leaf.size for leaf in jax.tree.leaves(params)) == count


@pytest.mark.parametrize("key", sorted(set(SPECS) - {"mnist_mlp_bn"}))
def test_no_biases_and_no_batchnorm_affine(key):
  params = flatten(_abstract_params(key))
  assert all(path.endswith("/kernel") for path in params), list(params)


def test_mnist_model_keeps_keras_biases_and_batchnorm_affine():
  params = flatten(_abstract_params("mnist_mlp_bn"))
  assert sorted(params) == [
      "layer000_bn/bias", "layer000_bn/scale", "layer000_dense/bias", "layer000_dense/kernel",
      "layer001_dense/bias", "layer001_dense/kernel"]


def test_resnet_kernel_order_follows_keras_layers():
  params = flatten(_abstract_params("resnet32"))
  shapes = [params[path].shape for path in layer_paths(params)]
  assert shapes[0] == (3, 3, 3, 16) and shapes[-1] == (64, 100)
  # Stack 2 starts at index 11: strided conv, second conv, then the 1x1 shortcut.
  assert shapes[11:14] == [(3, 3, 16, 32), (3, 3, 32, 32), (1, 1, 16, 32)]
  assert "layer013_shortcut/kernel" in params and "layer024_shortcut/kernel" in params


@pytest.mark.parametrize("key", ["c10_cnn1", "tiny_cnn"])
def test_vgg_batchnorm_after_relu_with_keras_momentum_and_epsilon(key):
  momentum = {"c10_cnn1": 0.99, "tiny_cnn": 0.9}[key]
  model, _ = _build(key)
  x = jax.random.normal(jax.random.key(2), (2, 16, 16, 3))
  apply = jax.jit(lambda variables, x: model.apply(
      variables, x, train=True, mutable=["batch_stats", "intermediates"],
      capture_intermediates=True), compiler_options=FAST_COMPILE)
  _, state = apply(_random_variables(model, x), x)
  h = jax.nn.relu(state["intermediates"]["layer000_conv"]["__call__"][0])
  mean, var = h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))
  stats = state["batch_stats"]["layer000_bn"]
  np.testing.assert_allclose(stats["mean"], (1 - momentum) * mean, rtol=1e-4, atol=1e-6)
  bn_out = state["intermediates"]["layer000_bn"]["__call__"][0]
  np.testing.assert_allclose(bn_out, (h - mean) / jnp.sqrt(var + 1e-3), rtol=1e-3, atol=1e-4)


def test_kernel_initializer_scales():
  key, shape, fan_in = jax.random.key(0), (3, 3, 128, 256), 3 * 3 * 128
  keras_21 = he_normal("keras_2.1")(key, shape)
  unit = he_normal("exact_std")(key, shape)
  np.testing.assert_allclose(jnp.std(keras_21), 0.8796 * np.sqrt(2 / fan_in), rtol=0.01)
  np.testing.assert_allclose(jnp.std(unit), np.sqrt(2 / fan_in), rtol=0.01)
  # Truncated at two pre-truncation standard deviations.
  assert float(jnp.max(jnp.abs(keras_21))) <= 2 * np.sqrt(2 / fan_in) + 1e-6
  uniform = HE_UNIFORM(key, shape)
  assert float(jnp.max(jnp.abs(uniform))) <= np.sqrt(6 / fan_in)
  with pytest.raises(ValueError, match="keras_2.1"):
    he_normal("keras")


@pytest.mark.parametrize("key", ["c10_cnn1", "c10_cnn2", "resnet32", "tiny_cnn", "wrn_10_1",
                                 "mnist_mlp_bn"])
def test_forward_and_one_gradient_step(key):
  model, shape = _build(key)
  num_classes = SPECS[key][0]["num_classes"]
  labels = jnp.arange(2) % num_classes

  # One compilation instead of hundreds of eager op dispatches.
  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def step_and_eval(variables, x):
    def loss_fn(params):
      logits, updates = model.apply({**variables, "params": params}, x, train=True,
                                    mutable=["batch_stats"], rngs={"dropout": jax.random.key(3)})
      loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
      return loss, (logits, updates)

    (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        variables["params"])
    params = jax.tree.map(lambda p, g: p - 0.1 * g, variables["params"], grads)
    return loss, logits, grads, model.apply({"params": params, **updates}, x, train=False)

  x = jax.random.normal(jax.random.key(2), shape)
  loss, logits, grads, eval_logits = step_and_eval(_random_variables(model, x), x)
  assert logits.shape == eval_logits.shape == (2, num_classes)
  assert bool(jnp.isfinite(loss)) and bool(jnp.all(jnp.isfinite(eval_logits)))
  assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
  assert any(bool(jnp.any(g != 0)) for g in jax.tree.leaves(grads))
