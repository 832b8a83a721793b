"""Counts, layer order, adaptive pooling, forward passes and init of the Gamba et al. models."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import build_model
from jaxgen.models.hyperplanes import VGG_CFGS, adaptive_avg_pool
from jaxgen.path_rules import KERNEL_RULE, flatten, layer_paths
from tests.conftest import forward_train_and_eval

VGGS = {"vgg11": (11, False), "vgg13": (13, False), "vgg16": (16, False), "vgg19": (19, False),
        "vgg11_bn": (11, True), "vgg13_bn": (13, True), "vgg16_bn": (16, True),
        "vgg19_bn_tv": (19, True), "vgg19_orig": (19, False)}
MLPS = {"mlp_gamba": False, "mlp_bn_gamba": True}
NAMES = ("lenet", *VGGS, *MLPS)
BATCH_NORM = {"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn_tv", "mlp_bn_gamba"}
KERNEL_LAYERS = {"lenet": 9, "vgg11": 11, "vgg13": 13, "vgg16": 16, "vgg19": 19, "vgg11_bn": 11,
                 "vgg13_bn": 13, "vgg16_bn": 16, "vgg19_bn_tv": 19, "vgg19_orig": 19,
                 "mlp_gamba": 8, "mlp_bn_gamba": 8}
# Only shapes and init statistics are checked, so skip XLA's expensive optimisations.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def _conv(cin: int, cout: int) -> int:
  return 9 * cin * cout + cout  # 3x3 kernel and bias.


def _dense(fan_in: int, fan_out: int) -> int:
  return fan_in * fan_out + fan_out


def _vgg_params(depth: int, bn: bool, classes: int, channels: int = 3) -> int:
  """torchvision VGG: convs with bias, (BN gamma + beta), 25088 -> 4096 -> 4096 -> classes.

  For 10 classes and 3 channels, with conv(cin, cout) = 9 cin cout + cout:
    conv(3,64) 1,792  conv(64,64) 36,928  conv(64,128) 73,856  conv(128,128) 147,584
    conv(128,256) 295,168  conv(256,256) 590,080  conv(256,512) 1,180,160
    conv(512,512) 2,359,808
    vgg11 features 1,792 + 73,856 + 295,168 + 590,080 + 1,180,160 + 3*2,359,808 =  9,220,480
    vgg13 features vgg11's + 36,928 + 147,584                                 =  9,404,992
    vgg16 features vgg13's + 590,080 + 2*2,359,808                            = 14,714,688
    vgg19 features vgg16's + 590,080 + 2*2,359,808                            = 20,024,384
    classifier 25,088*4,096 + 4,096 + 4,096*4,096 + 4,096 + 4,096*10 + 10
             = 102,764,544 + 16,781,312 + 40,970                             = 119,586,826
    BN 2 * channels: vgg11 5,504, vgg13 5,888, vgg16 8,448, vgg19 11,008
  (1000 classes: vgg11 132,863,336 and vgg16 138,357,544, torchvision's published counts.)
  """
  total, cin = 0, channels
  for entry in VGG_CFGS[depth]:
    if entry != "M":
      total += _conv(cin, entry) + (2 * entry if bn else 0)
      cin = entry
  return total + _dense(512 * 7 * 7, 4096) + _dense(4096, 4096) + _dense(4096, classes)


def _lenet_params(classes: int, channels: int = 3) -> int:
  """Six 3x3 convs with bias, 576 -> 120 -> 84 -> classes.

  For 10 classes and 3 channels:
    convs  168 + 330 + 880 + 2,320 + 9,280 + 36,928 = 49,906
    dense  69,240 + 10,164 + 850                    = 80,254
    total                                           = 130,160   (1 channel: 130,052)
  """
  convs = (_conv(channels, 6) + _conv(6, 6) + _conv(6, 16) + _conv(16, 16) + _conv(16, 64)
           + _conv(64, 64))
  return convs + _dense(3 * 3 * 64, 120) + _dense(120, 84) + _dense(84, classes)


def _mlp_params(bn: bool, classes: int, inputs: int = 3072) -> int:
  """inputs -> 4096, 3 x (4096 -> 1024 -> 4096), 4096 -> classes; BN after each 4096 layer.

  For 10 classes on CIFAR:
    hidden1     3,072*4,096 + 4,096                         = 12,587,008
    bottleneck  3 * (4,096*1,024 + 1,024 + 1,024*4,096 + 4,096) = 25,181,184
    classifier  4,096*10 + 10                               =     40,970
    total                                                   = 37,809,162
    BN          4 * 2 * 4,096                               =     32,768  (mlp_bn: 37,841,930)
  """
  return (_dense(inputs, 4096) + 3 * (_dense(4096, 1024) + _dense(1024, 4096))
          + _dense(4096, classes) + (4 * 2 * 4096 if bn else 0))


def _count(name: str, classes: int, channels: int, size: int) -> int:
  if name == "lenet":
    return _lenet_params(classes, channels)
  if name in MLPS:
    return _mlp_params(MLPS[name], classes, size * size * channels)
  return _vgg_params(*VGGS[name], classes, channels)


def test_counts_match_the_arithmetic():
  assert _lenet_params(10) == 130_160
  assert _lenet_params(10, channels=1) == 130_052
  expected = {11: 128_807_306, 13: 128_991_818, 16: 134_301_514, 19: 139_611_210}
  for depth, count in expected.items():
    assert _vgg_params(depth, False, 10) == count
  assert _vgg_params(16, False, 10) == 14_714_688 + 119_586_826
  bn = {11: 5_504, 13: 5_888, 16: 8_448, 19: 11_008}
  for depth, count in bn.items():
    assert _vgg_params(depth, True, 10) == expected[depth] + count
  assert _vgg_params(11, False, 1000) == 132_863_336  # torchvision vgg11.
  assert _vgg_params(16, False, 1000) == 138_357_544  # torchvision vgg16.
  assert _vgg_params(16, True, 1000) == 138_365_992  # torchvision vgg16_bn.
  assert _mlp_params(False, 10) == 37_809_162
  assert _mlp_params(True, 10) == 37_841_930


def _init(model, x):
  return model.init({"params": jax.random.key(0)}, x, train=False)


@functools.cache
def _abstract_variables(name: str, classes: int = 10, channels: int = 3, size: int = 32):
  model = build_model(name, classes)
  return jax.eval_shape(lambda: _init(model, jnp.zeros((2, size, size, channels))))


def _size(tree) -> int:
  return sum(leaf.size for leaf in jax.tree.leaves(tree))


# (name, classes, channels, size); VGGs need 32x32 inputs (tested below), so no MNIST for them.
COUNT_CASES = [(name, classes, 3, 32) for name in NAMES for classes in (10, 100)] + [
    (name, 10, 1, 28) for name in ("lenet", *MLPS)]


@pytest.mark.parametrize("name,classes,channels,size", COUNT_CASES)
def test_exact_parameter_count(name, classes, channels, size):
  variables = _abstract_variables(name, classes, channels, size)
  assert _size(variables["params"]) == _count(name, classes, channels, size)
  assert set(variables) == ({"params", "batch_stats"} if name in BATCH_NORM else {"params"})


def test_vgg_rejects_inputs_the_pools_reduce_to_nothing():
  with pytest.raises(ValueError, match="at least 32x32"):
    _abstract_variables("vgg11", 10, 1, 28)


@pytest.mark.parametrize("name", NAMES)
def test_kernel_layers_in_call_order(name):
  variables = _abstract_variables(name)
  params = flatten(variables["params"])
  paths = layer_paths(params, KERNEL_RULE)
  assert len(paths) == KERNEL_LAYERS[name]
  assert paths == [path for path, leaf in params.items() if leaf.ndim > 1]
  assert all(path.startswith(f"layer{i:03d}_") for i, path in enumerate(paths))
  shapes = [params[path].shape for path in paths]
  if name in MLPS:
    assert shapes == [(3072, 4096)] + [(4096, 1024), (1024, 4096)] * 3 + [(4096, 10)]
    bn_layers = [0, 2, 4, 6]  # After hidden1 and after each block's second Linear.
  else:
    cfg = VGG_CFGS[VGGS[name][0]] if name in VGGS else (6, 6, "M", 16, 16, "M", 64, 64, "M")
    widths = [entry for entry in cfg if entry != "M"]
    assert [s[-1] for s in shapes[:-3]] == widths
    assert all(s[:2] == (3, 3) for s in shapes[:-3])
    hidden = (120, 84) if name == "lenet" else (4096, 4096)
    pooled = (3 if name == "lenet" else 7) ** 2 * widths[-1]
    assert shapes[-3:] == [(pooled, hidden[0]), hidden, (hidden[1], 10)]
    bn_layers = list(range(len(widths)))
  if name in BATCH_NORM:
    assert sorted(variables["batch_stats"]) == [f"layer{i:03d}_bn" for i in bn_layers]
    assert sorted(p.split("/")[0] for p in params if "_bn/" in p) == sorted(
        [f"layer{i:03d}_bn" for i in bn_layers] * 2)


def _torch_adaptive_avg_pool(x: np.ndarray, out: int) -> np.ndarray:
  """Loop version of PyTorch's AdaptiveAvgPool2d on NHWC."""
  h, w = x.shape[1:3]
  y = np.empty((x.shape[0], out, out, x.shape[3]), x.dtype)
  for i in range(out):
    for j in range(out):
      rows = slice(i * h // out, -(-(i + 1) * h // out))
      cols = slice(j * w // out, -(-(j + 1) * w // out))
      y[:, i, j] = x[:, rows, cols].mean(axis=(1, 2))
  return y


def test_adaptive_avg_pool_non_divisible_by_hand():
  x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
  # 5 -> 3: windows [0, 2), [1, 4), [3, 5) (floor(i*5/3) to ceil((i+1)*5/3)), overlapping.
  # x[r, c] = 5r + c, so a window's mean is 5 * mean(rows) + mean(cols).
  means = [0.5, 2.0, 3.5]
  expected = np.array([[5 * r + c for c in means] for r in means], np.float32)
  np.testing.assert_allclose(adaptive_avg_pool(jnp.asarray(x), 3)[0, :, :, 0], expected,
                             rtol=1e-6)
  np.testing.assert_allclose(expected[0, 0], (0 + 1 + 5 + 6) / 4)
  np.testing.assert_allclose(expected[1, 1], np.mean([6, 7, 8, 11, 12, 13, 16, 17, 18]))


@pytest.mark.parametrize("size,out", [(4, 3), (8, 3), (3, 3), (7, 7), (2, 7), (14, 7)])
def test_adaptive_avg_pool_matches_the_loop(size, out):
  x = np.random.default_rng(0).normal(size=(2, size, size, 4)).astype(np.float32)
  y = adaptive_avg_pool(jnp.asarray(x), out)
  np.testing.assert_allclose(y, _torch_adaptive_avg_pool(x, out), rtol=1e-5, atol=1e-6)
  if size == out:
    np.testing.assert_allclose(y, x, rtol=1e-6)  # LeNet on 28x28: the pool is the identity.


def test_adaptive_avg_pool_replicates_a_1x1_map_and_takes_rectangles():
  x = jax.random.normal(jax.random.key(0), (2, 1, 1, 5))
  np.testing.assert_array_equal(adaptive_avg_pool(x, 7), jnp.broadcast_to(x, (2, 7, 7, 5)))
  x = jnp.arange(2 * 4 * 6, dtype=jnp.float32).reshape(1, 4, 6, 2)
  y = adaptive_avg_pool(x, (2, 3))
  assert y.shape == (1, 2, 3, 2)
  np.testing.assert_allclose(y, nn.avg_pool(x, (2, 2), strides=(2, 2)))  # Divisible case.


@pytest.mark.parametrize("size,conv_map", [(32, 8), (28, 7)])
def test_lenet_feature_map_before_the_adaptive_pool(size, conv_map):
  """32x32 inputs reach the last max-pool as 8x8 (-> 4x4, pooled to 3x3); 28x28 as 7x7 (-> 3x3)."""
  model = build_model("lenet", 10)
  x = jnp.zeros((2, size, size, 1))
  variables = _abstract_variables("lenet", 10, 1, size)
  _, state = jax.eval_shape(lambda v: model.apply(
      v, x, train=False, mutable=["intermediates"],
      capture_intermediates=lambda mdl, _: mdl.name in ("layer005_conv", "layer006_dense")),
      variables)
  assert state["intermediates"]["layer005_conv"]["__call__"][0].shape == (2, conv_map,
                                                                         conv_map, 64)
  assert state["intermediates"]["layer006_dense"]["__call__"][0].shape == (2, 120)


# Unoptimised XLA draws jax.random numbers slowly (~10 s for a VGG's 130M weights on CPU), so
# the real init runs on narrower copies: the same modules and initialisers, with 64-wide VGG
# classifiers and 512/128-wide MLPs. Only "vgg11_bn" runs at full size, with NumPy weights.
NARROW = {"vgg11_bn": {"hidden": (64, 64)}, "vgg19_orig": {"hidden": (64, 64)},
          "mlp_gamba": {"width": 512, "bottleneck": 128},
          "mlp_bn_gamba": {"width": 512, "bottleneck": 128}}


def _narrow_model(name: str) -> nn.Module:
  return build_model(name, 10).clone(**NARROW.get(name, {}))


@functools.cache
def _run(name: str, channels: int, size: int):
  """Real init and forward passes in one fast compile."""
  model = _narrow_model(name)
  x = jax.random.normal(jax.random.key(2), (2, size, size, channels))

  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def run(x):
    variables = _init(model, x)
    return variables, *forward_train_and_eval(model, variables, x)

  return jax.device_get(run(x))


@functools.cache
def _init_params(name: str):
  """Real init only, flattened."""
  model = _narrow_model(name)
  init = jax.jit(functools.partial(_init, model), compiler_options=FAST_COMPILE)
  return {col: flatten(tree) for col, tree in
          jax.device_get(init(jnp.zeros((2, 32, 32, 3)))).items()}


@functools.cache
def _run_full_size_vgg(name: str = "vgg11_bn"):
  """The real 25088-input classifier: jax.random init of 129M weights takes 10-20 s on CPU."""
  model = build_model(name, 10)
  x = jax.random.normal(jax.random.key(2), (2, 32, 32, 3))
  shapes = _abstract_variables(name)
  rng = np.random.default_rng(0)
  variables = {"params": jax.tree.map(
      lambda s: 0.02 * rng.standard_normal(s.shape, dtype=np.float32), shapes["params"])}
  if "batch_stats" in shapes:
    variables["batch_stats"] = jax.tree.map(lambda s: np.ones(s.shape, s.dtype),
                                            shapes["batch_stats"])
  run = jax.jit(functools.partial(forward_train_and_eval, model), compiler_options=FAST_COMPILE)
  return variables, *jax.device_get(run(variables, x))


# "vgg11_bn_full": the full-size VGG; the MLPs are the narrow copies.
FORWARD_CASES = [("lenet", 3, 32), ("lenet", 1, 28), ("vgg11_bn_full", 3, 32),
                 ("mlp_bn_gamba", 3, 32), ("mlp_gamba", 3, 32)]


@pytest.mark.parametrize("name,channels,size", FORWARD_CASES)
def test_forward_train_and_eval(name, channels, size):
  if name == "vgg11_bn_full":
    name = "vgg11_bn"
    variables, updates, train_logits, eval_logits = _run_full_size_vgg(name)
  else:
    variables, updates, train_logits, eval_logits = _run(name, channels, size)
  for logits in (*train_logits, *eval_logits):
    assert logits.shape == (2, 10) and np.all(np.isfinite(logits))
  has_bn = name in BATCH_NORM
  assert set(updates) == ({"batch_stats"} if has_bn else set())
  assert set(variables) == ({"params", "batch_stats"} if has_bn else {"params"})
  if has_bn:
    stats = flatten(updates["batch_stats"])
    assert not any(np.allclose(stats[p], flatten(variables["batch_stats"])[p]) for p in stats)
  # Dropout draws from the "dropout" rng in train mode only; eval mode ignores any rng.
  assert not np.allclose(train_logits[0], train_logits[1], atol=0)
  np.testing.assert_array_equal(eval_logits[0], eval_logits[1])
  assert not np.allclose(train_logits[0], eval_logits[0], atol=0)


def test_dropout_rates():
  model = build_model("lenet", 10)
  assert model.dropout_rate == 0.5 and build_model("vgg16", 10).dropout_rate == 0.5
  assert build_model("mlp_bn_gamba", 10).dropout_rate == 0.2
  assert build_model("mlp_gamba", 10, dropout_rate=0.0).dropout_rate == 0.0


def _fans(kernel: np.ndarray) -> tuple[int, int]:
  receptive = int(np.prod(kernel.shape[:-2]))
  return receptive * kernel.shape[-2], receptive * kernel.shape[-1]


def _biases_and_bn_are_default(params: dict[str, np.ndarray]):
  for path, leaf in params.items():
    if path.endswith("bias") or "_bn/" in path:
      expected = 1.0 if path.endswith("scale") else 0.0
      np.testing.assert_array_equal(leaf, expected, err_msg=path)


def test_lenet_init_is_xavier_uniform_with_relu_gain():
  params = flatten(_run("lenet", 3, 32)[0]["params"])
  for path in layer_paths(params):
    kernel = params[path]
    fan_in, fan_out = _fans(kernel)
    bound = np.sqrt(2) * np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(kernel).max() <= bound * (1 + 1e-6), path
    if kernel.size >= 1000:
      assert np.abs(kernel).max() > 0.99 * bound, path
      np.testing.assert_allclose(kernel.std(), bound / np.sqrt(3), rtol=0.05, err_msg=path)
  assert params["layer006_dense/kernel"].shape == (576, 120)
  _biases_and_bn_are_default(params)


def test_torchvision_vgg_init():
  variables = _init_params("vgg11_bn")
  params = variables["params"]
  paths = layer_paths(params)
  for path in paths[:-3]:
    kernel = params[path]
    std = np.sqrt(2 / (9 * kernel.shape[-1]))  # kaiming_normal_, fan_out, ReLU gain.
    np.testing.assert_allclose(kernel.std(), std, rtol=0.05, err_msg=path)
    np.testing.assert_allclose(kernel.mean(), 0, atol=0.05 * std, err_msg=path)
  # Not truncated: a 3x3x512x512 normal sample reaches beyond 4 standard deviations.
  assert np.abs(params[paths[-4]]).max() > 4 * np.sqrt(2 / (9 * 512))
  for path in paths[-3:]:
    np.testing.assert_allclose(params[path].std(), 0.01, rtol=0.05, err_msg=path)
  assert params[paths[-3]].shape == (25088, 64)  # 1x1 map replicated to 7x7, times 512.
  _biases_and_bn_are_default(params)
  assert len(variables["batch_stats"]) == 2 * 8


def test_vgg19_orig_init_is_normal_0_01():
  params = _init_params("vgg19_orig")["params"]
  paths = layer_paths(params)
  assert len(paths) == 19
  for path in paths:
    np.testing.assert_allclose(params[path].std(), 0.01, rtol=0.05, err_msg=path)
  assert np.abs(params[paths[-4]]).max() > 0.045  # Untruncated.
  _biases_and_bn_are_default(params)


def test_mlp_init_is_kaiming_normal_fan_out():
  params = flatten(_run("mlp_bn_gamba", 3, 32)[0]["params"])
  for path in layer_paths(params):
    kernel = params[path]
    np.testing.assert_allclose(kernel.std(), np.sqrt(2 / kernel.shape[-1]), rtol=0.05,
                               err_msg=path)
  assert sum("_bn/" in path for path in params) == 2 * 4
  _biases_and_bn_are_default(params)


def test_lenet_width_and_depth_scale_its_conv_stack():
  from jaxgen.models.hyperplanes import LENET_CFG, lenet_cfg

  assert lenet_cfg() == LENET_CFG
  assert lenet_cfg(2, 3) == (12, 12, 12, "M", 32, 32, 32, "M", 128, 128, 128, "M")
  with pytest.raises(ValueError, match="width >= 1"):
    lenet_cfg(0)
  model = build_model("lenet", 10, width=2, convs_per_stage=3)
  params = model.init(jax.random.key(0), jnp.zeros((1, 14, 14, 1)), train=False)["params"]
  kernels = [k for k in flatten(params) if "conv" in k and k.endswith("kernel")]
  assert len(kernels) == 9
  assert params["layer008_conv"]["kernel"].shape == (3, 3, 128, 128)
