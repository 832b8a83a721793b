"""Counts, layer order, inits and forward passes of the Blumenfeld et al. (2020) models."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.models import build_model
from jaxgen.models.diversity_inits import LEAKYNET_EXPERIMENTS, parse_init_string
from jaxgen.path_rules import flatten, layer_paths

# Only shapes, init values and a few forward passes are checked: skip XLA's expensive passes.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
GAIN = math.sqrt(2) * 1.01  # LeakyNet's gain at lrelu 0.01.
BN_EPS = 1e-5


def _conv(cin: int, cout: int, k: int = 3) -> int:
  return k * k * cin * cout  # No conv has a bias.


def _widths(k: int) -> tuple[int, int, int]:
  return 16 * k, 32 * k, 64 * k


def _constnet_params(classes: int, depth: int = 16, k: int = 10, channels: int = 3) -> int:
  """conv1; per block BN(C_in) + conv3x3 (+ a 1x1 shortcut where the width changes); Dense.

  For 10 classes, depth 16 (4 blocks per stage), k = 10 and 3 channels:
    conv1    27 * 16                                                            =        432
    stage 1  BN(16) 32 + 9*16*160 23,040 + 16*160 2,560
             + 3 * (BN(160) 320 + 9*160*160 230,400)                            =    717,792
    stage 2  BN(160) 320 + 9*160*320 460,800 + 160*320 51,200
             + 3 * (BN(320) 640 + 9*320*320 921,600)                            =  3,279,040
    stage 3  BN(320) 640 + 9*320*640 1,843,200 + 320*640 204,800
             + 3 * (BN(640) 1,280 + 9*640*640 3,686,400)                        = 13,111,680
    dense    640 * 10 + 10                                                      =      6,410
    total                                                                       = 17,115,354
  (The spec's "about 17.1M"; PyTorch also counts 3 unused Fixup scalars per block: +36.)
  """
  n = (depth - 4) // 3
  total, cin = _conv(channels, 16), 16
  for width in _widths(k):
    total += 2 * cin + _conv(cin, width) + (_conv(cin, width, 1) if cin != width else 0)
    total += (n - 1) * (2 * width + _conv(width, width))
    cin = width
  return total + 64 * k * classes + classes


def _leakynet_params(classes: int, depth: int = 16, k: int = 10, channels: int = 3,
                     batch_norm: bool = True) -> int:
  """conv1; per block a scalar bias and a conv3x3; BN after odd blocks; Dense.

  For 10 classes, depth 16, k = 10 and 3 channels:
    conv1         27 * 16                                      =        432
    stage 1       9*16*160 23,040 + 3 * 9*160*160 230,400      =    714,240
    stage 2       9*160*320 460,800 + 3 * 9*320*320 921,600    =  3,225,600
    stage 3       9*320*640 1,843,200 + 3 * 9*640*640 3,686,400 = 12,902,400
    biases        12 scalars                                   =         12
    BN            2 * (160 + 160 + 320 + 320 + 640 + 640)      =      4,480  (blocks 1, 3, ..., 11)
    dense         640 * 10 + 10                                =      6,410
    total                                                      = 16,853,574  (no BN: 16,849,094)
  """
  n = (depth - 4) // 3
  total, cin, block = _conv(channels, 16), 16, 0
  for width in _widths(k):
    for _ in range(n):
      total += 1 + _conv(cin, width) + (2 * width if batch_norm and block % 2 else 0)
      cin, block = width, block + 1
  return total + 64 * k * classes + classes


def test_counts_match_the_arithmetic():
  assert _constnet_params(10) == 432 + 717_792 + 3_279_040 + 13_111_680 + 6_410 == 17_115_354
  assert _leakynet_params(10) == (432 + 714_240 + 3_225_600 + 12_902_400 + 12 + 4_480
                                  + 6_410) == 16_853_574
  assert _leakynet_params(10, batch_norm=False) == 16_849_094


def _size(tree) -> int:
  return sum(leaf.size for leaf in jax.tree.leaves(tree))


@functools.cache
def _abstract_variables(name: str, classes: int = 10, channels: int = 3, size: int = 32,
                        **kwargs):
  model = build_model(name, classes, **kwargs)
  x = jnp.zeros((2, size, size, channels))
  return jax.eval_shape(lambda: model.init(jax.random.key(0), x, train=False))


# (name, classes, channels, size, kwargs); the defaults are depth 16, widen factor 10.
COUNT_CASES = [
    (name, classes, 3, 32, {}) for name in ("constnet", "varnet", "leakynet")
    for classes in (10, 100)] + [
    ("constnet", 10, 1, 28, {"depth": 10, "widen_factor": 1}),
    ("varnet", 10, 3, 32, {"depth": 22, "widen_factor": 2}),
    ("leakynet", 10, 1, 28, {"depth": 10, "widen_factor": 1, "init": "h_hh_hh_hh"}),
    ("leakynet", 10, 3, 32, {"batch_norm": False}),
    ("leakynet", 10, 3, 32, {"depth": 22, "widen_factor": 2, "init": "h" * 19}),
]


@pytest.mark.parametrize("name,classes,channels,size,kwargs", COUNT_CASES)
def test_exact_parameter_count(name, classes, channels, size, kwargs):
  variables = _abstract_variables(name, classes, channels, size, **kwargs)
  args = (classes, kwargs.get("depth", 16), kwargs.get("widen_factor", 10), channels)
  if name == "leakynet":
    expected = _leakynet_params(*args, batch_norm=kwargs.get("batch_norm", True))
  else:
    expected = _constnet_params(*args)
  assert _size(variables["params"]) == expected
  has_bn = kwargs.get("batch_norm", True)
  assert set(variables) == ({"params", "batch_stats"} if has_bn else {"params"})


@pytest.mark.parametrize("widen_factor", [10, 1])
def test_constnet_layers_in_call_order(widen_factor):
  params = flatten(_abstract_variables("constnet", widen_factor=widen_factor)["params"])
  paths = layer_paths(params)
  w1, w2, w3 = _widths(widen_factor)
  convs = [(3, 16)] + [(16, w1)] + [(w1, w1)] * 3 + [(w1, w2)] + [(w2, w2)] * 3 + [(w2, w3)] + [
      (w3, w3)] * 3
  expected, index = [], 0
  for cin, cout in convs:
    expected.append((f"layer{index:03d}_conv", (3, 3, cin, cout)))
    index += 1
    if cin != cout and cin != 3:  # Width-changing blocks add a 1x1 shortcut after the conv.
      expected.append((f"layer{index:03d}_shortcut", (1, 1, cin, cout)))
      index += 1
  expected.append((f"layer{index:03d}_dense", (w3, 10)))
  assert [(p.removesuffix("/kernel"), params[p].shape) for p in paths] == expected
  # Each block's BN (over its input channels) carries its conv's index.
  bns = sorted({p.split("/")[0] for p in params if "_bn/" in p})
  assert bns == [p.replace("_conv", "_bn") for p, _ in expected if p.endswith("_conv")][1:]
  assert len(paths) == (17 if widen_factor > 1 else 16)  # k = 1: stage 1 keeps 16 channels.


def test_leakynet_layers_in_call_order():
  params = flatten(_abstract_variables("leakynet")["params"])
  paths = layer_paths(params)
  assert [p.removesuffix("/kernel") for p in paths] == [
      f"layer{i:03d}_conv" for i in range(13)] + ["layer013_dense"]
  assert [params[p].shape[-1] for p in paths] == [16] + [160] * 4 + [320] * 4 + [640] * 4 + [10]
  assert [p for p in params if "_bias" in p and "/" not in p] == [
      f"layer{i:03d}_bias" for i in range(1, 13)]
  assert all(params[f"layer{i:03d}_bias"].shape == () for i in range(1, 13))
  # BN after the odd-indexed blocks i = 1, 3, ..., 11, i.e. after kernels 2, 4, ..., 12.
  assert sorted({p.split("/")[0] for p in params if "_bn/" in p}) == [
      f"layer{i:03d}_bn" for i in range(2, 13, 2)]


def test_invalid_depth_and_init_strings():
  for depth in (4, 15, 17):
    with pytest.raises(ValueError, match=f"depth={depth}"):
      build_model("constnet", 10, depth=depth)
  with pytest.raises(ValueError, match=r"init='h_hhhh'.*exactly 13 codes"):
    build_model("leakynet", 10, init="h_hhhh")
  with pytest.raises(ValueError, match=r"exactly 7 codes.*depth 10"):
    build_model("leakynet", 10, depth=10)  # The default string is for depth 16.
  with pytest.raises(ValueError, match=r"invalid codes \['x'\].*h, 1, i, k, n"):
    build_model("leakynet", 10, init="h_hhhh_hxhh_hhhh")
  assert parse_init_string("_1_ii11_ii11_ii11_", 16) == tuple("1ii11ii11ii11")
  # 'i' needs C_out >= C_in: conv1 (-> 16 channels) on a 17-channel input cannot be one.
  model = build_model("leakynet", 10, init="i_iiii_iiii_iiii", widen_factor=1)
  with pytest.raises(ValueError, match=r"'i' \(identity\) for layer000_conv.*17 -> 16"):
    jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 17)),
                                      train=False))


def test_leakynet_experiment_strings_build_at_full_size():
  assert len(LEAKYNET_EXPERIMENTS) == 7
  for init in LEAKYNET_EXPERIMENTS:
    variables = _abstract_variables("leakynet", init=init)
    assert _size(variables["params"]) == 16_853_574


def _apply(model, variables, x, train, seed=None):
  """One pass returning (logits, intermediates incl. every module's output, batch-stat updates)."""
  rngs = {} if seed is None else {"dropout": jax.random.key(seed)}
  logits, state = model.apply(variables, x, train=train, rngs=rngs, capture_intermediates=True,
                              mutable=["intermediates", "batch_stats"])
  outputs = {name: value["__call__"][0] for name, value in state["intermediates"].items()
             if "__call__" in value}
  outputs["features"] = state["intermediates"]["features"][0]
  return logits, outputs, state.get("batch_stats", {})


@functools.cache
def _run(name: str, channels: int = 3, size: int = 32, **kwargs):
  """Real init and train (dropout seeds 3 and 4) / eval passes, in one fast compile."""
  model = build_model(name, 10, **kwargs)
  x = jax.random.normal(jax.random.key(2), (2, size, size, channels))

  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def run(x):
    variables = model.init({"params": jax.random.key(0)}, x, train=False)
    return {"variables": variables, "x": x,
            "train": (_apply(model, variables, x, True, 3), _apply(model, variables, x, True, 4)),
            "eval": (_apply(model, variables, x, False), _apply(model, variables, x, False, 5))}

  return jax.device_get(run(x))


def _assert_channels_equal(array, name):
  scale = max(1.0, float(np.abs(array).max()))
  np.testing.assert_allclose(array, np.broadcast_to(array[..., :1], array.shape), rtol=0,
                             atol=1e-6 * scale, err_msg=name)


SMALL = {"depth": 10, "widen_factor": 1}


@pytest.mark.parametrize("channels,size", [(3, 32), (1, 28)])
def test_constnet_init_channels_identical_and_logits_zero(channels, size):
  out = _run("constnet", channels, size, **SMALL)
  params = flatten(out["variables"]["params"])
  for path, leaf in params.items():
    if path.endswith("kernel") and "_conv" in path and path != "layer000_conv/kernel":
      np.testing.assert_array_equal(leaf, 0, err_msg=path)  # Block convs are zero.
    elif "_shortcut" in path:
      np.testing.assert_array_equal(leaf, 1 / leaf.shape[2], err_msg=path)
    elif "_dense" in path or path.endswith("bn/bias"):
      np.testing.assert_array_equal(leaf, 0, err_msg=path)
    elif path.endswith("bn/scale"):
      np.testing.assert_array_equal(leaf, 1, err_msg=path)
  conv1 = np.zeros((3, 3, channels, 16), np.float32)
  conv1[1, 1] = 1 / channels
  np.testing.assert_array_equal(params["layer000_conv/kernel"], conv1)
  for mode in ("train", "eval"):
    for logits, outputs, _ in out[mode]:
      np.testing.assert_array_equal(logits, 0)
      for name, array in outputs.items():
        _assert_channels_equal(array, f"{mode} {name}")
      # conv1's channels are each the mean of the input channels at every pixel.
      np.testing.assert_allclose(outputs["layer000_conv"][..., 0], out["x"].mean(-1),
                                 rtol=1e-5, atol=1e-6)
      assert outputs["features"].shape == (2, size // 4, size // 4, 64)
      assert np.abs(outputs["features"]).max() > 0.1  # Not trivially zero.


def _std_rtol(samples: int) -> float:
  """A tolerance of 3 standard errors of a sample std (~1 / sqrt(2n)), at least 3%."""
  return max(0.03, 3 / math.sqrt(2 * samples))


def test_varnet_init_std_per_layer():
  params = flatten(_run("varnet", depth=10, widen_factor=2)["variables"]["params"])
  paths = layer_paths(params)
  assert len(paths) == 1 + 6 + 3 + 1
  for path in paths:
    kernel = params[path]
    cout = kernel.shape[-1]
    if path == "layer000_conv/kernel":
      std = math.sqrt(1 / (9 * 16))
    elif path.endswith("_conv/kernel"):
      std = math.sqrt(2) * math.sqrt(1 / (9 * cout))
    elif "_shortcut" in path:
      std = math.sqrt(1 / cout)
    else:
      np.testing.assert_array_equal(kernel, 0, err_msg=path)  # The dense layer stays zero.
      continue
    np.testing.assert_allclose(kernel.std(), std, rtol=_std_rtol(kernel.size), err_msg=path)
    np.testing.assert_allclose(kernel.mean(), 0, atol=3 * std / math.sqrt(kernel.size),
                               err_msg=path)
  np.testing.assert_array_equal(params[paths[-1].replace("kernel", "bias")], 0)


def test_dropout_is_train_only_and_conv1_dropout_breaks_the_symmetry():
  out = _run("constnet", **SMALL, droprate=0.1, dropout_conv1=True)
  (_, train_a, _), (_, train_b, _) = out["train"]
  (_, eval_a, _), (_, eval_b, _) = out["eval"]
  assert not np.allclose(train_a["features"], train_b["features"])
  # conv1's dropout makes the channels differ; the next averaging 1x1 shortcut (stage 2) makes
  # them equal again in the forward pass, as the residual branches are still zero.
  assert not np.allclose(train_a["layer001_bn"], train_a["layer001_bn"][..., :1])
  _assert_channels_equal(train_a["features"], "train features")
  np.testing.assert_array_equal(eval_a["features"], eval_b["features"])
  _assert_channels_equal(eval_a["features"], "eval features")
  np.testing.assert_allclose(eval_a["features"], _run("constnet", **SMALL)["eval"][0][1][
      "features"], rtol=1e-6, atol=1e-6)
  # (ConstNet's zero block convs make residual dropout alone a no-op at init; VarNet's residual
  # dropout is checked in the double-forward test.)


def test_double_forward_updates_bn_stats_twice():
  x = jax.random.normal(jax.random.key(2), (2, 32, 32, 3))
  models = {(double, rate): build_model("varnet", 10, **SMALL, droprate=rate,
                                        double_forward=double)
            for double in (False, True) for rate in (0.0, 0.1)}

  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def run(x):
    # Parameter names and init do not depend on the flags, so one init serves all four.
    variables = models[False, 0.0].init({"params": jax.random.key(0)}, x, train=False)
    return variables, {key: (_apply(model, variables, x, True, 3)[1:],
                             _apply(model, variables, x, False)[1]["features"])
                       for key, model in models.items()}

  variables, out = jax.device_get(run(x))
  assert _size(variables["params"]) == _constnet_params(10, depth=10, k=1)
  (single, single_eval), (double, double_eval) = out[False, 0.0], out[True, 0.0]
  # Without dropout the second pass repeats the first, so outputs agree...
  np.testing.assert_allclose(double[0]["features"], single[0]["features"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(double_eval, single_eval, rtol=1e-5, atol=1e-6)
  # ...but each BN moved its running mean twice: 0.1 m, then 0.9 * 0.1 m + 0.1 m = 0.19 m.
  stats_single, stats_double = flatten(single[1]), flatten(double[1])
  assert sum(path.endswith("mean") for path in stats_single) == 6
  for path in stats_single:
    if path.endswith("mean"):
      np.testing.assert_allclose(stats_double[path], 1.9 * stats_single[path], rtol=1e-4,
                                 atol=1e-6, err_msg=path)
  # Residual dropout acts in train mode only.
  assert not np.allclose(out[False, 0.1][0][0]["features"], single[0]["features"])
  np.testing.assert_allclose(out[False, 0.1][1], single_eval, rtol=1e-5, atol=1e-6)
  # With dropout the returned pass uses the second draw, not the single forward's first one.
  assert not np.allclose(out[True, 0.1][0][0]["features"], out[False, 0.1][0][0]["features"])
  np.testing.assert_allclose(out[True, 0.1][1], single_eval, rtol=1e-5, atol=1e-6)


def _leaky_pattern(code: str, phase: int, shape: tuple[int, ...]) -> np.ndarray:
  """The noise-free part of an LRNet init, lrelu 0.01."""
  _, _, cin, cout = shape
  const = {"h": 0.0, "1": 1.0, "i": 1.0, "k": 0.99, "n": 0.99}[code]
  factor = const * (1 if phase > 0 else -100)
  pattern = np.zeros(shape, np.float32)
  if code in "ik":
    pattern[1, 1, np.arange(cout) % cin, np.arange(cout)] = factor
  else:
    pattern[1, 1] = factor / cin
  return pattern


def test_leakynet_init_codes():
  init = "h_kn_1i_ih"  # conv1 'h'; blocks 0-5: 'k', 'n', '1', 'i', 'i', 'h'.
  out = _run("leakynet", depth=10, widen_factor=2, init=init)
  params = flatten(out["variables"]["params"])
  kernels = [params[p] for p in layer_paths(params)]
  assert [k.shape[-2:] for k in kernels[:-1]] == [(3, 16), (16, 32), (32, 32), (32, 64),
                                                  (64, 64), (64, 128), (128, 128)]
  for layer, (code, kernel) in enumerate(zip(init.replace("_", ""), kernels, strict=False)):
    phase = -1 if layer > 0 and (layer - 1) % 2 else 1
    noise = kernel - _leaky_pattern(code, phase, kernel.shape)
    fan_in = 9 * kernel.shape[2]
    if code in "1i":
      np.testing.assert_array_equal(kernel, _leaky_pattern(code, phase, kernel.shape))
    else:
      std = math.sqrt(GAIN * (1.0 if code == "h" else 0.01) / fan_in)
      np.testing.assert_allclose(noise.std(), std, rtol=_std_rtol(kernel.size),
                                 err_msg=f"layer {layer} {code!r}")
  # Odd (phase -1) layers: '1' would be -1 / (0.01 C_in), 'i' is -1 / 0.01 = -100.
  assert kernels[4][1, 1, 0, 0] == -100 and kernels[4][1, 1, 1, 0] == 0
  np.testing.assert_allclose(_leaky_pattern("1", -1, (3, 3, 32, 64))[1, 1], -100 / 32)
  np.testing.assert_array_equal(kernels[-1], 0)  # Dense weight and bias 0.
  np.testing.assert_array_equal(params["layer007_dense/bias"], 0)
  assert all(params[f"layer{i:03d}_bias"] == 0 for i in range(1, 7))
  assert sorted({p.split("/")[0] for p in params if "_bn/" in p}) == [
      "layer002_bn", "layer004_bn", "layer006_bn"]


def _selected_input(x: np.ndarray, widths: tuple[int, ...], average: bool) -> np.ndarray:
  """The conv stack's image of x under identity ('i') or averaging ('1') layers at init.

  Centre-tap-only 3x3 convs with padding 1 and two stride-2 stages take pixel (4r, 4c) of
  32x32 inputs; an identity layer maps channel o to input channel o mod C_in, an averaging
  layer makes every channel the mean over input channels.
  """
  x = x[:, ::4, ::4]
  if average:
    return np.broadcast_to(x.mean(-1, keepdims=True), (*x.shape[:-1], widths[-1]))
  channels = np.arange(widths[-1])
  for width in reversed(widths):  # conv1 (3 -> 16) and each width change, innermost last.
    channels = channels % width
  return x[..., channels % x.shape[-1]]


@pytest.mark.parametrize("depth,init", [(16, "i_iiii_iiii_iiii"), (10, "i_ii_ii_ii")])
def test_leakynet_phase_trick_makes_the_stack_linear(depth, init):
  """Even 'i' layer then odd '-I / 0.01' layer: phi(-100 phi(z)) = -z exactly, any sign of z."""
  out = _run("leakynet", depth=depth, widen_factor=1, init=init, batch_norm=False)
  x = out["x"]
  for mode in ("train", "eval"):
    _, outputs, _ = out[mode][0]
    conv1 = outputs["layer000_conv"]
    assert (conv1 < 0).any() and (conv1 > 0).any()
    np.testing.assert_array_equal(conv1, x[..., np.arange(16) % 3])
    # The first pair (blocks 0 and 1, 16 -> 16, stride 1) returns -conv1.
    second = np.where(outputs["layer002_conv"] >= 0, outputs["layer002_conv"],
                      0.01 * outputs["layer002_conv"])
    np.testing.assert_allclose(second, -conv1, rtol=1e-6, atol=1e-7)
    # 3 (depth 10) or 6 (depth 16) pairs, each -x: the whole stack is linear in the input.
    sign = (-1) ** ((depth - 4) // 2)
    np.testing.assert_allclose(outputs["features"],
                               sign * _selected_input(x, (16, 16, 32, 64), False),
                               rtol=1e-5, atol=1e-6)


def test_leakynet_experiments_init_and_run():
  """The 7 experiment strings at widen factor 1 with BN: at init (eval-mode BN = 1 / sqrt(1 + eps)
  after each odd block) the stack is linear for every string except the random 'h' one."""
  model = build_model("leakynet", 10, widen_factor=1)
  x = jax.random.normal(jax.random.key(2), (2, 32, 32, 3))

  @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
  def run(x):
    results = []
    for init in LEAKYNET_EXPERIMENTS:
      mdl = model.clone(init_string=init)
      variables = mdl.init({"params": jax.random.key(0)}, x, train=False)
      logits, state = mdl.apply(variables, x, train=False, mutable=["intermediates"])
      results.append((logits, state["intermediates"]["features"][0]))
    return results

  for init, (logits, features) in zip(LEAKYNET_EXPERIMENTS, jax.device_get(run(x)), strict=True):
    np.testing.assert_array_equal(logits, 0)
    assert features.shape == (2, 8, 8, 64)
    if init.startswith("h"):
      assert np.isfinite(features).all() and features.std() > 0
      continue
    # Channels are distinct only if every layer is 'i'; a '1' conv1 makes them all equal.
    expected = _selected_input(np.asarray(x), (16, 16, 32, 64), init[0] == "1")
    np.testing.assert_allclose(features, expected * (1 + BN_EPS) ** -3, rtol=1e-5, atol=1e-6,
                               err_msg=init)


def test_leakynet_dropout_bn_and_fc_noise():
  out = _run("leakynet", **SMALL, init="h_hh_hh_hh", droprate=0.2, fc_noise=1.0)
  params = flatten(out["variables"]["params"])
  kernel = params["layer007_dense/kernel"]
  np.testing.assert_allclose(kernel.std(), math.sqrt(1 / 144), rtol=_std_rtol(kernel.size))
  np.testing.assert_array_equal(params["layer007_dense/bias"], 0)
  (_, train_a, stats), (_, train_b, _) = out["train"]
  (_, eval_a, _), (_, eval_b, _) = out["eval"]
  assert not np.allclose(train_a["features"], train_b["features"])
  np.testing.assert_array_equal(eval_a["features"], eval_b["features"])
  assert sorted(stats) == ["layer002_bn", "layer004_bn", "layer006_bn"]
  # Train-mode BN after the last (odd) block normalises each channel over the batch.
  features = train_a["features"]
  np.testing.assert_allclose(features.mean((0, 1, 2)), 0, atol=1e-4)
  np.testing.assert_allclose(features.var((0, 1, 2)), 1, rtol=1e-3)
