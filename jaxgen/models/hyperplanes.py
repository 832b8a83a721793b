"""Architectures of the hyperplane-arrangement study (Gamba et al., arXiv 2003.07797).

Flax versions of the models of `magamba/hp_arrangements` (`models.py` and the supplement's
`mlp/models.py`, spec §2). flax infers the input channels, so the same builders serve 3-channel
CIFAR and 1-channel MNIST (the original swaps in a new first conv with the default init).

| name            | model                                 | kernel layers | params (CIFAR-10) |
|-----------------|---------------------------------------|---------------|-------------------|
| lenet           | custom 9-layer LeNet                  | 9             | 130,160           |
| vgg11           | torchvision VGG-11 (cfg A)            | 11            | 128,807,306       |
| vgg13           | torchvision VGG-13 (cfg B)            | 13            | 128,991,818       |
| vgg16           | torchvision VGG-16 (cfg D)            | 16            | 134,301,514       |
| vgg19           | torchvision VGG-19 (cfg E)            | 19            | 139,611,210       |
| vgg11_bn        | torchvision VGG-11 with BN            | 11            | 128,812,810       |
| vgg13_bn        | torchvision VGG-13 with BN            | 13            | 128,997,706       |
| vgg16_bn        | torchvision VGG-16 with BN            | 16            | 134,309,962       |
| vgg19_bn_tv     | torchvision VGG-19 with BN            | 19            | 139,622,218       |
| vgg19_orig      | VGG-19, VGG v1 init N(0, 0.01)        | 19            | 139,611,210       |
| mlp_gamba       | supplement MLP, 3 bottleneck blocks   | 8             | 37,809,162        |
| mlp_bn_gamba    | the same with BatchNorm               | 8             | 37,841,930        |

("vgg19_bn" is the different CIFAR VGG of `rwc.py`, hence "vgg19_bn_tv".)

The conv nets are torchvision-style: per cfg entry conv3x3(pad 1, bias) -> (BN) -> ReLU, or "M"
max-pool 2x2/2; AdaptiveAvgPool to a fixed grid (7x7 for VGG, 3x3 for LeNet); Flatten; then
Linear -> ReLU -> Dropout(0.5) twice and a final Linear. On 32x32 CIFAR inputs the VGG feature
map is 1x1 and the adaptive pool replicates it to 7x7, so the classifier input is 25,088 as in
the original; this is why the VGGs have ~120M classifier parameters on CIFAR.

Kernel modules are named `layer003_conv`, `layer009_dense` (call order = PyTorch
`named_parameters` order, see `naming.py`); a BatchNorm is named after the kernel it follows.

Differences from PyTorch that do not change the function class or the parameter count:
- NHWC flattening orders features as (h, w, c) instead of (c, h, w) (for the MLP: a fixed
  permutation of the input pixels); only a weight-by-weight port would permute the rows.
- flax BatchNorm updates the running variance with the biased batch variance (see `rwc.py`).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.models.naming import LayerNamer
from jaxgen.models.pooling import max_pool
from jaxgen.models.registry import MODELS
from jaxgen.models.torch_layers import VGG_CONV_INIT, VGG_DENSE_INIT, torch_conv
from jaxgen.models.torch_layers import batch_norm as torch_batch_norm

# torchvision VGG default init: conv kaiming_normal_(mode="fan_out", nonlinearity="relu"), i.e.
# N(0, 2 / (kh * kw * out_channels)) untruncated; Linear N(0, 0.01); all biases 0.
KAIMING_NORMAL_FAN_OUT = VGG_CONV_INIT
# LeNet: xavier_uniform_(gain=calculate_gain("relu") = sqrt(2)), i.e.
# U(±sqrt(2) * sqrt(6 / (fan_in + fan_out))), variance 4 / (fan_in + fan_out).
XAVIER_UNIFORM_RELU = nn.initializers.variance_scaling(2.0, "fan_avg", "uniform")
# VGG v1 (arXiv 1409.1556v1) init of `vgg19_orig`: every conv and linear weight N(0, 0.01).
VGG_ORIG_INIT = nn.initializers.normal(stddev=0.01)
ZEROS = nn.initializers.zeros

Cfg = tuple[int | str, ...]
# torchvision cfgs "A", "B", "D", "E".
VGG_CFGS: dict[int, Cfg] = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}
LENET_CFG: Cfg = (6, 6, "M", 16, 16, "M", 64, 64, "M")


def _adaptive_mean(x: jnp.ndarray, axis: int, out: int) -> jnp.ndarray:
  """Adaptive average pooling of `axis` to `out` cells: [i*n // out, ceil((i+1)*n / out))."""
  size = x.shape[axis]
  cells = []
  for i in range(out):
    start, end = (i * size) // out, -(-(i + 1) * size // out)
    cells.append(jnp.mean(jax.lax.slice_in_dim(x, start, end, axis=axis), axis=axis,
                          keepdims=True))
  return jnp.concatenate(cells, axis=axis)


def adaptive_avg_pool(x: jnp.ndarray, output_size: int | tuple[int, int]) -> jnp.ndarray:
  """`torch.nn.AdaptiveAvgPool2d(output_size)` on NHWC inputs.

  Output cell (i, j) is the mean of input rows floor(i * H / h) to ceil((i + 1) * H / h) - 1
  and columns likewise (windows may overlap, and an input smaller than the output is
  replicated). The window is a product of intervals, so the pooling is done one axis at a time.

  Args:
    x: array (N, H, W, C).
    output_size: h, or (h, w).

  Returns:
    Array (N, h, w, C).
  """
  out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
  return _adaptive_mean(_adaptive_mean(x, 1, out_h), 2, out_w)


class TorchVGG(nn.Module):
  """torchvision-style VGG: conv stack, AdaptiveAvgPool, Linear-ReLU-Dropout classifier.

  Per `cfg` entry conv3x3(pad 1, bias) -> BN (if `batch_norm`) -> ReLU, or "M" max-pool 2x2/2;
  AdaptiveAvgPool(`pool_size`); Flatten; per `hidden` width Linear -> ReLU -> Dropout; final
  Linear(num_classes). All biases are 0 at init, BN gamma 1 and beta 0 (PyTorch BN defaults,
  momentum 0.1, eps 1e-5). Dropout (rng stream "dropout") is active only when `train`.
  """

  num_classes: int
  cfg: Cfg = VGG_CFGS[16]
  batch_norm: bool = False
  pool_size: int = 7
  hidden: tuple[int, ...] = (4096, 4096)
  dropout_rate: float = 0.5
  conv_init: nn.initializers.Initializer = KAIMING_NORMAL_FAN_OUT
  dense_init: nn.initializers.Initializer = VGG_DENSE_INIT

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    in_height, in_width = x.shape[1:3]
    for entry in self.cfg:
      if entry == "M":
        x = max_pool(x, (2, 2), strides=(2, 2))
        continue
      x = torch_conv(x, entry, 3, 1, use_bias=True, name=names.kernel("conv"),
                     kernel_init=self.conv_init, bias_init=ZEROS)
      if self.batch_norm:
        x = torch_batch_norm(train, names.bn_after())(x)
      x = nn.relu(x)
    if 0 in x.shape[1:3]:
      # PyTorch raises here too ("Output size is too small"); flax would return NaNs.
      pools = self.cfg.count("M")
      raise ValueError(f"{pools} 2x2 max-pools reduce a {in_height}x{in_width} input to nothing: "
                       f"this net needs inputs of at least {2**pools}x{2**pools}")
    x = adaptive_avg_pool(x, self.pool_size)
    x = x.reshape((x.shape[0], -1))
    for width in self.hidden:
      x = nn.Dense(width, kernel_init=self.dense_init, bias_init=ZEROS,
                   name=names.kernel("dense"))(x)
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(nn.relu(x))
    return nn.Dense(self.num_classes, kernel_init=self.dense_init, bias_init=ZEROS,
                    name=names.kernel("dense"))(x)


class BottleneckMLP(nn.Module):
  """The supplement's MLP on flattened inputs.

  hidden1: Linear(width) -> Dropout -> (BN) -> ReLU; `blocks` bottleneck blocks:
  Linear(bottleneck) -> Linear(width) (nothing in between) -> Dropout -> (BN) -> ReLU; then
  Linear(num_classes). Every Linear weight kaiming_normal_(fan_out, ReLU), bias 0; BN gamma 1,
  beta 0 (BatchNorm1d defaults as BatchNorm2d: momentum 0.1, eps 1e-5).
  """

  num_classes: int
  width: int = 4096
  bottleneck: int = 1024
  blocks: int = 3
  batch_norm: bool = True
  dropout_rate: float = 0.2

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()

    def dense(y, features):
      return nn.Dense(features, kernel_init=KAIMING_NORMAL_FAN_OUT, bias_init=ZEROS,
                      name=names.kernel("dense"))(y)

    def dropout_bn_relu(y):
      y = nn.Dropout(self.dropout_rate, deterministic=not train)(y)
      if self.batch_norm:
        y = torch_batch_norm(train, names.bn_after())(y)
      return nn.relu(y)

    x = x.reshape((x.shape[0], -1))
    x = dropout_bn_relu(dense(x, self.width))
    for _ in range(self.blocks):
      x = dropout_bn_relu(dense(dense(x, self.bottleneck), self.width))
    return dense(x, self.num_classes)


def lenet_cfg(width: int = 1, convs_per_stage: int = 2) -> Cfg:
  """LeNet's conv stack with `width` times the filters (6, 16, 64 per stage) and
  `convs_per_stage` convs before each of the 3 max-pools; (1, 2) is LENET_CFG."""
  if width < 1 or convs_per_stage < 1:
    raise ValueError(f"lenet needs width >= 1 and convs_per_stage >= 1, got {width}, "
                     f"{convs_per_stage}")
  cfg = []
  for filters in (6, 16, 64):
    cfg += [filters * width] * convs_per_stage + ["M"]
  return tuple(cfg)


@MODELS.register("lenet")
def lenet(num_classes: int = 10, dropout_rate: float = 0.5, width: int = 1,
          convs_per_stage: int = 2) -> nn.Module:
  """Gamba et al.'s custom LeNet (6 convs + 3 dense), xavier_uniform(gain sqrt(2)) init.

  `width` and `convs_per_stage` (defaults: the original) scale the conv stack (`lenet_cfg`),
  so that CPU-sized criticality studies can have more layers and finer per-layer mass.
  """
  return TorchVGG(num_classes, cfg=lenet_cfg(width, convs_per_stage), pool_size=3,
                  hidden=(120, 84),
                  dropout_rate=dropout_rate, conv_init=XAVIER_UNIFORM_RELU,
                  dense_init=XAVIER_UNIFORM_RELU)


def _register_vgg(name: str, depth: int, bn: bool):
  """Registers the torchvision VGG-`depth` (with BN if `bn`) as `name`."""
  @MODELS.register(name)
  def build(num_classes: int = 10, dropout_rate: float = 0.5) -> nn.Module:
    return TorchVGG(num_classes, cfg=VGG_CFGS[depth], batch_norm=bn, dropout_rate=dropout_rate)

  build.__name__ = name
  build.__doc__ = (f"torchvision VGG-{depth}{' with BN' if bn else ''} ({depth - 3} convs + "
                   "3 dense), torchvision default init.")
  return build


vgg11 = _register_vgg("vgg11", 11, bn=False)
vgg13 = _register_vgg("vgg13", 13, bn=False)
vgg16 = _register_vgg("vgg16", 16, bn=False)
vgg19 = _register_vgg("vgg19", 19, bn=False)
vgg11_bn = _register_vgg("vgg11_bn", 11, bn=True)
vgg13_bn = _register_vgg("vgg13_bn", 13, bn=True)
vgg16_bn = _register_vgg("vgg16_bn", 16, bn=True)
vgg19_bn_tv = _register_vgg("vgg19_bn_tv", 19, bn=True)


@MODELS.register("vgg19_orig")
def vgg19_orig(num_classes: int = 10, dropout_rate: float = 0.5) -> nn.Module:
  """VGG-19 (no BN) with the VGG v1 init: conv and linear weights N(0, 0.01), biases 0."""
  return TorchVGG(num_classes, cfg=VGG_CFGS[19], dropout_rate=dropout_rate,
                  conv_init=VGG_ORIG_INIT, dense_init=VGG_ORIG_INIT)


@MODELS.register("mlp_bn_gamba")
def mlp_bn_gamba(num_classes: int = 10, dropout_rate: float = 0.2) -> nn.Module:
  """The supplement's `mlp_bn`: 4096-wide MLP with 3 bottleneck blocks and BN (8 dense)."""
  return BottleneckMLP(num_classes, batch_norm=True, dropout_rate=dropout_rate)


@MODELS.register("mlp_gamba")
def mlp_gamba(num_classes: int = 10, dropout_rate: float = 0.2) -> nn.Module:
  """The supplement's `mlp`: `mlp_bn_gamba` without BatchNorm (8 dense)."""
  return BottleneckMLP(num_classes, batch_norm=False, dropout_rate=dropout_rate)
