"""Architectures of the feature-diversity study (Blumenfeld, Gilboa & Soudry, ICML 2020).

Flax versions of the models of `yanivbl6/BeyondSigProp` (camera-ready code; spec §4): the
one-conv-per-block wide ResNet of `model.py` with its ConstNet and VarNet inits, and the plain
leaky-ReLU net `LRNet` of `remodel.py` with its per-layer init string. flax infers the input
channels, so any number of them works (the original hard-codes 3).

| name      | model                                 | kernel layers | params (CIFAR-10) |
|-----------|---------------------------------------|---------------|-------------------|
| constnet  | WRN-16-10, one 3x3 conv per block     | 17            | 17,115,354        |
| varnet    | the same, random (He fan-out) init    | 17            | 17,115,354        |
| leakynet  | plain LRNet-16-10, leaky ReLU 0.01    | 14            | 16,853,574        |

(Depth 16, widen factor 10, 10 classes, 32x32x3 inputs; kernel layers = conv1, 12 block convs,
the 1x1 shortcuts (3 for constnet/varnet) and the dense layer. The PyTorch modules also
register parameters the forward never uses: 3 Fixup scalars per ConstNet block (+36, i.e.
17,115,390) and per LRNet block a second scalar bias and, for even blocks, a BatchNorm
(+12 + 2 * (160 + 160 + 320 + 320 + 640 + 640) = +4,492); flax creates only used parameters.)

ConstNet / VarNet (`ConstNet`): conv1 3x3 C_in -> 16; three stages of n = (depth - 4) / 3
blocks of widths 16k, 32k, 64k (k = widen_factor), the first block of stages 2 and 3 with
stride 2; block(x): u = BN(x), r = conv3x3(ReLU(u)) (-> Dropout), output x + r, or
conv1x1(u) + r when the width or stride changes (the shortcut sees BN(x) without the ReLU);
head ReLU -> global average pool -> Dense. No final BN. All convs without bias.

LeakyNet (`LeakyNet`): conv1 3x3 C_in -> 16 (no activation after it, as in the code); the same
3n block convs in a plain chain, block i: out = phi(conv3x3(x + b_i)) (-> Dropout) with b_i a
learnable scalar and phi = LeakyReLU(lrelu); with `batch_norm`, a BN over the output channels
after phi (and the dropout) of odd-indexed blocks only; head phi -> global average pool -> Dense.

The original head is AvgPool 8x8 then a view to (N, channels), i.e. 32x32 inputs only; here it
is a global mean, which equals it on the 8x8 maps of 32x32 inputs and also serves 28x28 inputs
(7x7 maps). The stack's output before the head is sown as `intermediates/features`.

Kernel modules are named `layer007_conv`, `layer002_shortcut`, `layer017_dense` (call order,
see `naming.py`); a ConstNet BN precedes its block's conv and takes that conv's index, a LeakyNet
BN follows its conv and takes its index, and a LeakyNet scalar bias is `layer003_bias`.
"""

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgen.models.diversity_inits import (
    VARNET_BLOCK_INIT,
    VARNET_CONV1_INIT,
    VARNET_SHORTCUT_INIT,
    block_layout,
    blocks_per_stage,
    centre_average_init,
    leaky_init,
    parse_init_string,
)
from jaxgen.models.naming import LayerNamer
from jaxgen.models.registry import MODELS
from jaxgen.models.torch_layers import batch_norm as torch_batch_norm
from jaxgen.models.torch_layers import torch_conv

Initializer = nn.initializers.Initializer
ZEROS = nn.initializers.zeros
CONV1_WIDTH = 16


def _conv(features: int, kernel: int, strides: int, kernel_init: Initializer,
          name: str) -> nn.Conv:
  """A bias-free PyTorch-style conv module (symmetric padding (kernel - 1) // 2).

  Like `torch_layers.torch_conv`, but returns the module rather than applying it, so that the double
  forward of `ConstNet` can call the same parameters twice.
  """
  pad = (kernel - 1) // 2
  return nn.Conv(features, (kernel, kernel), strides=(strides, strides),
                 padding=((pad, pad), (pad, pad)), use_bias=False, kernel_init=kernel_init,
                 name=name)


class ConstNet(nn.Module):
  """The one-conv-per-block WRN of `model.py` (`-a constnet --batchnorm`), see the module doc.

  ConstNet init (`varnet=False`): block 3x3 convs 0; conv1 and the 1x1 shortcuts averaging
  (`centre_average_init`), so every channel of every layer is identical and the logits are 0.
  VarNet init (`varnet=True`): `VARNET_*_INIT`. Both: Dense weight and bias 0, BN gamma 1 and
  beta 0 (PyTorch BN defaults, momentum 0.1, eps 1e-5).

  Attributes:
    num_classes: logits.
    depth: 3n + 4 (n blocks per stage).
    widen_factor: k in the widths 16k, 32k, 64k.
    varnet: VarNet (random) instead of ConstNet init.
    droprate: dropout rate in each residual branch (rng stream "dropout", train mode only).
    dropout_conv1: also dropout (at `droprate`) on conv1's output (the code's `--dropl1`).
    double_forward: the camera-ready quirk: each stage's chain of blocks runs twice on the
      stage input and the second result is used: double compute, BN running stats updated
      twice per train step (effective PyTorch momentum 0.19) and two dropout draws.
  """

  num_classes: int = 10
  depth: int = 16
  widen_factor: int = 10
  varnet: bool = False
  droprate: float = 0.0
  dropout_conv1: bool = False
  double_forward: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    if self.varnet:
      conv1_init, block_init = VARNET_CONV1_INIT, VARNET_BLOCK_INIT
      shortcut_init = VARNET_SHORTCUT_INIT
    else:
      conv1_init, block_init, shortcut_init = centre_average_init, ZEROS, centre_average_init

    def dropout(y):
      if self.droprate > 0:
        y = nn.Dropout(self.droprate, deterministic=not train)(y)
      return y

    x = _conv(CONV1_WIDTH, 3, 1, conv1_init, names.kernel("conv"))(x)
    if self.dropout_conv1:
      x = dropout(x)

    stages: list[list[tuple[nn.Module, nn.Module, nn.Module | None]]] = [[], [], []]
    in_width = CONV1_WIDTH
    for stage, width, strides in block_layout(self.depth, self.widen_factor):
      bn = torch_batch_norm(train, names.bn_before())
      conv = _conv(width, 3, strides, block_init, names.kernel("conv"))
      shortcut = None
      if width != in_width or strides != 1:
        shortcut = _conv(width, 1, strides, shortcut_init, names.kernel("shortcut"))
      stages[stage].append((bn, conv, shortcut))
      in_width = width

    def run_stage(y, blocks):
      for bn, conv, shortcut in blocks:
        u = bn(y)
        r = dropout(conv(nn.relu(u)))
        y = (y if shortcut is None else shortcut(u)) + r
      return y

    for blocks in stages:
      if self.double_forward:
        run_stage(x, blocks)  # Discarded, but its BN updates and dropout draws happen.
      x = run_stage(x, blocks)

    self.sow("intermediates", "features", x)
    x = jnp.mean(nn.relu(x), axis=(1, 2))
    return nn.Dense(self.num_classes, kernel_init=ZEROS, bias_init=ZEROS,
                    name=names.kernel("dense"))(x)


class LeakyNet(nn.Module):
  """The plain leaky-ReLU net `LRNet` of `remodel.py` (`-a leakynet`), see the module doc.

  Attributes:
    num_classes: logits.
    depth: 3n + 4 (n block convs per stage; depth 16 = conv1 + 12 block convs).
    widen_factor: k in the widths 16k, 32k, 64k.
    init_string: one code per conv (see `leaky_init`), conv1's first; underscores ignored
      (the builder's `init`; `init` itself would shadow `nn.Module.init`).
    lrelu: the leaky ReLU slope (phi).
    droprate: dropout rate after each block's phi (rng stream "dropout", train mode only).
    batch_norm: BN after odd-indexed blocks (the code's `--batchnorm`, used in all its runs).
    fc_noise: Dense weight N(0, sqrt(fc_noise / 144)) if > 0 (144 = 9 * 16, conv1's fan-out,
      as the code), else 0; the Dense bias is 0.
  """

  num_classes: int = 10
  depth: int = 16
  widen_factor: int = 10
  init_string: str = "h_hhhh_hhhh_hhhh"
  lrelu: float = 0.01
  droprate: float = 0.0
  batch_norm: bool = True
  fc_noise: float = 0.0

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    codes = parse_init_string(self.init_string, self.depth)

    def phi(y):
      return nn.leaky_relu(y, self.lrelu)

    name = names.kernel("conv")
    x = torch_conv(x, CONV1_WIDTH, 3, use_bias=False, name=name,
                   kernel_init=leaky_init(codes[0], 1, self.lrelu, name))
    for i, (_, width, strides) in enumerate(block_layout(self.depth, self.widen_factor)):
      phase = -1 if i % 2 else 1
      name = names.kernel("conv")
      bias = self.param(name.replace("_conv", "_bias"), ZEROS, ())
      x = phi(torch_conv(x + bias, width, 3, strides, use_bias=False, name=name,
                         kernel_init=leaky_init(codes[i + 1], phase, self.lrelu, name)))
      if self.droprate > 0:
        x = nn.Dropout(self.droprate, deterministic=not train)(x)
      if self.batch_norm and phase < 0:
        x = torch_batch_norm(train, names.bn_after())(x)

    self.sow("intermediates", "features", x)
    x = jnp.mean(phi(x), axis=(1, 2))
    fc_init = (nn.initializers.normal(math.sqrt(self.fc_noise / (9 * CONV1_WIDTH)))
               if self.fc_noise > 0 else ZEROS)
    return nn.Dense(self.num_classes, kernel_init=fc_init, bias_init=ZEROS,
                    name=names.kernel("dense"))(x)


def _register_constnet(name: str, varnet: bool, summary: str) -> None:
  """Registers the ConstNet architecture under `name` with the init `varnet` selects."""

  def build(num_classes: int = 10, depth: int = 16, widen_factor: int = 10,
            droprate: float = 0.0, dropout_conv1: bool = False,
            double_forward: bool = False) -> nn.Module:
    blocks_per_stage(depth)
    return ConstNet(num_classes, depth, widen_factor, varnet=varnet, droprate=droprate,
                    dropout_conv1=dropout_conv1, double_forward=double_forward)

  build.__doc__ = summary
  MODELS.register(name)(build)


_register_constnet("constnet", varnet=False, summary=(
    "ConstNet: the one-conv-per-block WRN with the averaging / zero init (all channels equal)."))
_register_constnet("varnet", varnet=True, summary=(
    "VarNet: ConstNet's architecture with the random (He fan-out) init, the code's `--varnet`."))


@MODELS.register("leakynet")
def leakynet(num_classes: int = 10, depth: int = 16, widen_factor: int = 10,
             init: str = "h_hhhh_hhhh_hhhh", lrelu: float = 0.01, droprate: float = 0.0,
             batch_norm: bool = True, fc_noise: float = 0.0) -> nn.Module:
  """LeakyNet (LRNet): the plain leaky-ReLU net with the per-conv init string `init`."""
  parse_init_string(init, depth)
  return LeakyNet(num_classes, depth, widen_factor, init_string=init, lrelu=lrelu,
                  droprate=droprate, batch_norm=batch_norm, fc_noise=fc_noise)
