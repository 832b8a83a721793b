"""Counts, layer order, forward passes and initialisers of the Agrawal et al. (2020) models."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import build_model
from jaxgen.models.rwc import CifarResNet
from jaxgen.models.torch_layers import torch_conv
from jaxgen.path_rules import flatten, layer_paths
from tests.conftest import forward_train_and_eval

NAMES = ("alexnet_cifar", "resnet18", "vgg19_bn")
# Only shapes and init statistics are checked, so skip XLA's expensive optimisations: the
# jitted init + forward then compiles in ~3 s per model instead of ~10 s.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _conv(cin: int, cout: int, k: int = 3, bias: bool = False) -> int:
  return k * k * cin * cout + (cout if bias else 0)


def _bn(channels: int) -> int:
  return 2 * channels  # gamma and beta.


def _resnet18_params(classes: int, channels: int = 3,
                     widths: tuple[int, ...] = (64, 128, 256, 512)) -> int:
  """Stem; per stage 4 convs + 4 BN, stages 2-4 add a 1x1 shortcut conv + BN; Dense with bias.

  For 10 classes and 3 channels:
    convs    1,728 + 147,456 + 524,288 + 2,097,152 + 8,388,608 = 11,159,232
             (stem 27*64; stage 1 4*9*64*64; stage 2 9*64*128 + 3*9*128*128 + 64*128; ...)
    BN       2 * (64 + 4*64 + 5*128 + 5*256 + 5*512)           =      9,600
    dense    512 * 10 + 10                                     =      5,130
    total                                                      = 11,173,962
  """
  total = _conv(channels, widths[0]) + _bn(widths[0])
  cin = widths[0]
  for width in widths:
    total += _conv(cin, width) + 3 * _conv(width, width) + 4 * _bn(width)
    if cin != width:
      total += _conv(cin, width, 1) + _bn(width)
    cin = width
  return total + cin * classes + classes


def _vgg19_bn_params(classes: int, channels: int = 3, base: int = 64) -> int:
  """16 conv3x3 with bias, each followed by BN; one Dense 512 -> classes with bias.

  For 10 classes and 3 channels:
    convs  1,792 + 36,928 + 73,856 + 147,584 + 295,168 + 3*590,080 + 1,180,160
           + 7*2,359,808                                        = 20,024,384
    BN     2 * (2*64 + 2*128 + 4*256 + 8*512)                    =     11,008
    dense  512 * 10 + 10                                         =      5,130
    total                                                        = 20,040,522
  """
  widths = [base] * 2 + [2 * base] * 2 + [4 * base] * 4 + [8 * base] * 8
  total, cin = 0, channels
  for width in widths:
    total += _conv(cin, width, bias=True) + _bn(width)
    cin = width
  return total + cin * classes + classes


def _alexnet_params(classes: int, channels: int = 3) -> int:
  """5 conv3x3 with bias, Dense 1024 -> 4096 -> 1024 -> classes with biases.

  For 10 classes and 3 channels:
    convs  1,792 + 110,784 + 663,936 + 884,992 + 590,080 = 2,251,584
    dense  4,198,400 + 4,195,328 + 10,250                = 8,403,978
    total                                                = 10,655,562
  """
  convs = (_conv(channels, 64, bias=True) + _conv(64, 192, bias=True)
           + _conv(192, 384, bias=True) + _conv(384, 256, bias=True)
           + _conv(256, 256, bias=True))
  return convs + (1024 * 4096 + 4096) + (4096 * 1024 + 1024) + (1024 * classes + classes)


COUNTS = {"resnet18": _resnet18_params, "vgg19_bn": _vgg19_bn_params,
          "alexnet_cifar": _alexnet_params}
KERNEL_LAYERS = {"resnet18": 21, "vgg19_bn": 17, "alexnet_cifar": 8}
HAS_BATCH_NORM = {"resnet18": True, "vgg19_bn": True, "alexnet_cifar": False}


def _init(model, x):
  return model.init({"params": jax.random.key(0)}, x, train=False)


def _abstract_variables(name: str, classes: int = 10, channels: int = 3):
  model = build_model(name, classes)
  return jax.eval_shape(lambda: _init(model, jnp.zeros((2, 32, 32, channels))))


def _size(tree) -> int:
  return sum(leaf.size for leaf in jax.tree.leaves(tree))


def test_counts_match_the_arithmetic():
  assert _resnet18_params(10) == 11_173_962  # kuangliu ResNet-18 on CIFAR-10: 11.17M.
  assert _vgg19_bn_params(10) == 20_040_522
  assert _alexnet_params(10) == 10_655_562
  # One more output row of 512 (or 1024) weights + 1 bias per class.
  assert _resnet18_params(100) == 11_173_962 + 90 * 513
  assert _alexnet_params(100) == 10_655_562 + 90 * 1025


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("classes,channels", [(10, 3), (100, 3), (10, 1)])
def test_exact_parameter_count(name, classes, channels):
  variables = _abstract_variables(name, classes, channels)
  assert _size(variables["params"]) == COUNTS[name](classes, channels)
  assert set(variables) == ({"params", "batch_stats"} if HAS_BATCH_NORM[name] else {"params"})


@pytest.mark.parametrize("name", NAMES)
def test_kernel_layers_are_the_tensors_with_ndim_above_one_in_call_order(name):
  params = flatten(_abstract_variables(name)["params"])
  paths = layer_paths(params)
  assert len(paths) == KERNEL_LAYERS[name]
  assert paths == [path for path, leaf in params.items() if leaf.ndim > 1]
  assert all(path.startswith(f"layer{i:03d}_") for i, path in enumerate(paths))
  shapes = [params[path].shape for path in paths]
  if name == "resnet18":
    # Per stage 2-4: strided conv, second conv, then the block's 1x1 shortcut (PyTorch order).
    assert shapes[0] == (3, 3, 3, 64) and shapes[-1] == (512, 10)
    for i, (cin, cout) in zip((5, 10, 15), ((64, 128), (128, 256), (256, 512)), strict=True):
      assert shapes[i:i + 3] == [(3, 3, cin, cout), (3, 3, cout, cout), (1, 1, cin, cout)]
      assert paths[i + 2] == f"layer{i + 2:03d}_shortcut/kernel"
  elif name == "vgg19_bn":
    assert [s[-1] for s in shapes[:16]] == [64] * 2 + [128] * 2 + [256] * 4 + [512] * 8
    assert shapes[-1] == (512, 10)
  else:
    assert [s[-1] for s in shapes] == [64, 192, 384, 256, 256, 4096, 1024, 10]
    assert shapes[5] == (1024, 4096)  # 2 x 2 x 256 after the third max-pool.


@pytest.mark.parametrize("name, kwargs, count, widths", [
    ("resnet18", {"widths": (8, 16, 32, 64)}, _resnet18_params(10, 1, (8, 16, 32, 64)),
     [8] * 5 + [16, 16, 16, 16, 16] + [32] * 5 + [64] * 5),
    ("vgg19_bn", {"width_multiplier": 0.125}, _vgg19_bn_params(10, 1, base=8),
     [8] * 2 + [16] * 2 + [32] * 4 + [64] * 8),
])
def test_narrow_versions_keep_every_kernel_layer_in_order(name, kwargs, count, widths):
  model = build_model(name, 10, **kwargs)
  variables = jax.eval_shape(lambda: _init(model, jnp.zeros((2, 32, 32, 1))))
  assert _size(variables["params"]) == count
  params = flatten(variables["params"])
  paths = layer_paths(params)
  assert len(paths) == KERNEL_LAYERS[name]
  assert [params[path].shape[-1] for path in paths[:-1]] == widths
  assert params[paths[-1]].shape == (64, 10)


def test_resnet18_takes_one_width_per_stage():
  # Widths / 8 divide the conv weights by 64: 176,258 parameters instead of 11,172,810 on
  # 1-channel digits.
  assert _resnet18_params(10, 1, (8, 16, 32, 64)) == 176_258
  with pytest.raises(ValueError, match="4 stages"):
    build_model("resnet18", 10, widths=(8, 16, 32))


@functools.cache
def _run(name: str, channels: int):
  """Real init, two train-mode and two eval-mode forward passes, in one fast compile."""
  model = build_model(name, 10)
  x = jax.random.normal(jax.random.key(2), (2, 32, 32, channels))

  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def run(x):
    variables = _init(model, x)
    return variables, *forward_train_and_eval(model, variables, x)

  return run(x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [3, 1])
def test_forward_shapes_train_and_eval(name, channels):
  variables, updates, train_logits, eval_logits = _run(name, channels)
  for logits in (*train_logits, *eval_logits):
    assert logits.shape == (2, 10) and bool(jnp.all(jnp.isfinite(logits)))
  assert set(updates) == ({"batch_stats"} if HAS_BATCH_NORM[name] else set())
  assert set(variables) == ({"params", "batch_stats"} if HAS_BATCH_NORM[name] else {"params"})
  # Eval mode is deterministic whatever rngs are passed.
  np.testing.assert_array_equal(eval_logits[0], eval_logits[1])


def test_alexnet_dropout_only_in_train_mode():
  _, _, (train_a, train_b), (eval_a, _) = _run("alexnet_cifar", 3)
  assert not np.allclose(train_a, train_b)
  assert not np.allclose(train_a, eval_a)


@pytest.mark.parametrize("name", ["resnet18", "vgg19_bn"])
def test_batchnorm_models_ignore_the_dropout_rng(name):
  _, _, (train_a, train_b), _ = _run(name, 3)
  np.testing.assert_array_equal(train_a, train_b)


def _fan_in(kernel: np.ndarray) -> int:
  return int(np.prod(kernel.shape[:-1]))


@pytest.mark.parametrize("name", ["resnet18", "alexnet_cifar"])
def test_pytorch_default_init(name):
  params = flatten(jax.device_get(_run(name, 3)[0]["params"]))
  for path in layer_paths(params):
    kernel = params[path]
    bound = 1 / np.sqrt(_fan_in(kernel))
    # kaiming_uniform(a=sqrt(5)): U(±1/sqrt(fan_in)), whose std is bound / sqrt(3).
    assert np.abs(kernel).max() <= bound * (1 + 1e-6), path
    assert np.abs(kernel).max() > 0.99 * bound, path
    np.testing.assert_allclose(kernel.std(), bound / np.sqrt(3), rtol=0.05, err_msg=path)
    np.testing.assert_allclose(kernel.mean(), 0, atol=0.1 * bound, err_msg=path)
    bias = params.get(path.removesuffix("kernel") + "bias")
    if name == "resnet18" and "dense" not in path:
      assert bias is None, path  # Bias-free convs.
    else:
      assert 0.5 * bound < np.abs(bias).max() <= bound * (1 + 1e-6), path
      if bias.size >= 1000:
        np.testing.assert_allclose(bias.std(), bound / np.sqrt(3), rtol=0.05, err_msg=path)
  if name == "resnet18":
    dense = params["layer020_dense/kernel"]
    assert dense.shape == (512, 10)
    np.testing.assert_allclose(dense.std(), 1 / np.sqrt(3 * 512), rtol=0.05)
    bn = {path: leaf for path, leaf in params.items() if "_bn/" in path}
    assert len(bn) == 2 * 20  # gamma and beta after each of the 17 3x3 and 3 1x1 convs.
    for path, leaf in bn.items():
      np.testing.assert_array_equal(leaf, 1.0 if path.endswith("scale") else 0.0)


def test_vgg_init():
  variables = jax.device_get(_run("vgg19_bn", 3)[0])
  params = flatten(variables["params"])
  paths = layer_paths(params)
  for path in paths[:-1]:
    kernel = params[path]
    std = np.sqrt(2 / (9 * kernel.shape[-1]))  # fan_out normal.
    np.testing.assert_allclose(kernel.std(), std, rtol=0.05, err_msg=path)
    np.testing.assert_allclose(kernel.mean(), 0, atol=0.05 * std, err_msg=path)
    np.testing.assert_array_equal(params[path.removesuffix("kernel") + "bias"], 0.0)
  # Not truncated: a 3x3x512x512 normal sample reaches beyond 4 standard deviations.
  big = params[paths[-2]]
  assert np.abs(big).max() > 4 * np.sqrt(2 / (9 * 512))
  dense = params[paths[-1]]
  assert dense.shape == (512, 10)
  np.testing.assert_allclose(dense.std(), 0.01, rtol=0.05)
  np.testing.assert_array_equal(params["layer016_dense/bias"], 0.0)
  for path, leaf in params.items():
    if "_bn/" in path:
      np.testing.assert_array_equal(leaf, 1.0 if path.endswith("scale") else 0.0)
  stats = flatten(variables["batch_stats"])
  assert len(stats) == 2 * 16


def test_batchnorm_uses_pytorch_momentum_and_epsilon():
  model = CifarResNet(10, blocks_per_stage=(1,), widths=(4,))
  x = jax.random.normal(jax.random.key(0), (4, 8, 8, 3))

  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def run(x):
    return model.apply(_init(model, x), x, train=True, mutable=["batch_stats", "intermediates"],
                       capture_intermediates=True)[1]

  state = run(x)
  h = state["intermediates"]["layer000_conv"]["__call__"][0]
  mean, var = h.mean(axis=(0, 1, 2)), h.var(axis=(0, 1, 2))
  stats = state["batch_stats"]["layer000_bn"]
  # PyTorch momentum 0.1: running = 0.9 * running + 0.1 * batch.
  np.testing.assert_allclose(stats["mean"], 0.1 * mean, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(stats["var"], 0.9 + 0.1 * var, rtol=1e-4)
  bn_out = state["intermediates"]["layer000_bn"]["__call__"][0]
  np.testing.assert_allclose(bn_out, (h - mean) / jnp.sqrt(var + 1e-5), rtol=1e-3, atol=1e-4)


class _StridedConv(nn.Module):
  @nn.compact
  def __call__(self, x):
    return torch_conv(x, 4, 3, strides=2, name="conv")


def test_strided_conv_pads_symmetrically_like_pytorch():
  x = jax.random.normal(jax.random.key(0), (1, 32, 32, 3))
  model = _StridedConv()
  params = model.init(jax.random.key(1), x)["params"]["conv"]
  y = model.apply({"params": {"conv": params}}, x)
  assert y.shape == (1, 16, 16, 4)
  expected = jax.lax.conv_general_dilated(
      x, params["kernel"], (2, 2), ((1, 1), (1, 1)),
      dimension_numbers=("NHWC", "HWIO", "NHWC")) + params["bias"]
  np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
  bound = 1 / np.sqrt(27)
  assert float(jnp.abs(params["bias"]).max()) <= bound * (1 + 1e-6)
