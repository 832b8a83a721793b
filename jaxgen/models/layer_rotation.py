"""Architectures of the layer-rotation study (Carbonnelle & De Vleeschouwer, arXiv 1806.01603).

Ports of the Keras 2.1.2 models of `ispgroupucl/layer-rotation-paper-experiments` (spec §1):

| name                     | task         | kernel init    | kernel layers |
|--------------------------|--------------|----------------|---------------|
| c10_cnn1                 | C10-CNN1     | he_uniform     | 25            |
| tiny_cnn                 | tiny-CNN     | he_uniform     | 11            |
| c10_cnn2                 | C10-CNN2     | he_normal      | 15            |
| resnet_v1 / resnet32     | C100-resnet  | he_normal      | 34            |
| resnet110                | C10-resnet   | he_normal      | 112           |
| wrn_28_10                | C100-WRN     | glorot_uniform | 29            |
| mnist_mlp_bn             | MNIST (§6)   | glorot_uniform | 2             |

Except for the MNIST model, no conv or dense layer has a bias and no BatchNorm has γ/β
(Keras `use_bias=False`, `center=scale=False`), so every parameter is a kernel. BatchNorm
uses the Keras defaults momentum 0.99 (same convention in flax) and epsilon 1e-3, except
tiny-CNN (momentum 0.9).

Kernel modules are named `layer007_conv`, `layer031_shortcut`, `layer033_dense`: jax flattens
dicts in sorted key order, so zero-padded indices make `path_rules.layer_paths` list the
kernels in Keras `model.layers` order, which the layer-wise learning-rate multipliers and the
rotation curves index by. A BatchNorm is named after the kernel layer it follows (or, in the
pre-activation WRN, precedes).
"""

import flax.linen as nn
import jax.numpy as jnp

from jaxgen.models.naming import LayerNamer
from jaxgen.models.pooling import max_pool
from jaxgen.models.registry import MODELS

# Keras he_uniform: U(±sqrt(6 / fan_in)).
HE_UNIFORM = nn.initializers.variance_scaling(2.0, "fan_in", "uniform")
GLOROT_UNIFORM = nn.initializers.glorot_uniform()
# Std of a standard normal truncated to (-2, 2).
_TRUNCATED_STD = 0.87962566103423978
HE_NORMAL_VARIANTS = ("keras_2.1", "exact_std")


def he_normal(variant: str = "keras_2.1") -> nn.initializers.Initializer:
  """Keras `he_normal`: a normal truncated at two standard deviations.

  Args:
    variant: "keras_2.1" (default) reproduces Keras 2.1.2 / TF 1.4, which the paper used:
      the *pre-truncation* std is sqrt(2 / fan_in), so the samples' std is
      0.8796 * sqrt(2 / fan_in) (keras-team/keras#8048; corrected only in later Keras).
      "exact_std" gives samples with std exactly sqrt(2 / fan_in) (flax/modern Keras).

  Returns:
    A flax kernel initializer.
  """
  if variant == "keras_2.1":
    # flax divides by the truncated std; pre-multiplying the variance undoes that.
    return nn.initializers.variance_scaling(
        2.0 * _TRUNCATED_STD**2, "fan_in", "truncated_normal")
  if variant == "exact_std":
    return nn.initializers.variance_scaling(2.0, "fan_in", "truncated_normal")
  raise ValueError(f"he_normal variant {variant!r} is not one of {HE_NORMAL_VARIANTS}")


def _batch_norm(train: bool, name: str, momentum: float = 0.99,
                affine: bool = False) -> nn.BatchNorm:
  """Keras BatchNormalization (eps 1e-3); without γ/β unless `affine`."""
  return nn.BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-3,
                      use_scale=affine, use_bias=affine, name=name)


class KerasVGG(nn.Module):
  """C10-CNN1 / tiny-CNN: per stage [Conv3x3 -> ReLU -> BN] x convs, MaxPool2 between stages.

  The BN comes *after* the ReLU. No max-pooling after the last stage; the head is
  GlobalAveragePooling -> Dense(num_classes), without bias.
  """

  num_classes: int
  widths: tuple[int, ...]
  convs_per_stage: int
  bn_momentum: float = 0.99

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    for stage, width in enumerate(self.widths):
      for _ in range(self.convs_per_stage):
        x = nn.Conv(width, (3, 3), padding="SAME", use_bias=False, kernel_init=HE_UNIFORM,
                    name=names.kernel("conv"))(x)
        x = nn.relu(x)
        x = _batch_norm(train, names.bn_after(), self.bn_momentum)(x)
      if stage < len(self.widths) - 1:
        x = max_pool(x, (2, 2), strides=(2, 2))
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, use_bias=False, kernel_init=HE_UNIFORM,
                    name=names.kernel("dense"))(x)


class TorchBlogVGG(nn.Module):
  """C10-CNN2 ("VGG_pytorchBlogStyle", dropout off): [Conv3x3 -> BN -> ReLU] x n per stage.

  MaxPool2 after every stage (1x1 at the end on 32x32 inputs), then
  Flatten -> Dense 512 -> BN -> ReLU -> Dense(num_classes); no biases anywhere.
  """

  num_classes: int
  convs_per_stage: tuple[int, ...] = (2, 2, 3, 3, 3)
  widths: tuple[int, ...] = (64, 128, 256, 512, 512)
  hidden: int = 512
  he_normal_variant: str = "keras_2.1"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    init = he_normal(self.he_normal_variant)
    names = LayerNamer()
    for convs, width in zip(self.convs_per_stage, self.widths, strict=True):
      for _ in range(convs):
        x = nn.Conv(width, (3, 3), padding="SAME", use_bias=False, kernel_init=init,
                    name=names.kernel("conv"))(x)
        x = nn.relu(_batch_norm(train, names.bn_after())(x))
      x = max_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape((x.shape[0], -1))
    x = nn.Dense(self.hidden, use_bias=False, kernel_init=init, name=names.kernel("dense"))(x)
    x = nn.relu(_batch_norm(train, names.bn_after())(x))
    return nn.Dense(self.num_classes, use_bias=False, kernel_init=init,
                    name=names.kernel("dense"))(x)


class ResNetV1(nn.Module):
  """Keras `cifar10_resnet.py` resnet_v1 of depth 6n+2, without biases or BN γ/β.

  Stem conv16-BN-ReLU; 3 stacks of n blocks (16/32/64 filters), each
  conv-BN-ReLU-conv-BN + shortcut, then ReLU. The first block of stacks 2 and 3 is strided
  and its shortcut is a 1x1 stride-2 conv without BN. Head: AvgPool 8 -> Flatten -> Dense
  (1x1 after pooling on the 32x32 inputs it is defined for).
  Kernel order follows Keras `model.layers`: conv1, conv2, then the block's shortcut.
  """

  num_classes: int
  depth: int = 32
  he_normal_variant: str = "keras_2.1"

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    if (self.depth - 2) % 6 != 0 or self.depth < 8:
      raise ValueError(f"resnet_v1 depth must be 6n+2 with n >= 1 (20, 32, 110...), "
                       f"got {self.depth}")
    blocks = (self.depth - 2) // 6
    init = he_normal(self.he_normal_variant)
    names = LayerNamer()

    def conv(y, width, kernel, strides, kind="conv"):
      return nn.Conv(width, (kernel, kernel), strides=strides, padding="SAME", use_bias=False,
                     kernel_init=init, name=names.kernel(kind))(y)

    x = conv(x, 16, 3, 1)
    x = nn.relu(_batch_norm(train, names.bn_after())(x))
    for stack, width in enumerate((16, 32, 64)):
      for block in range(blocks):
        strides = 2 if stack > 0 and block == 0 else 1
        y = conv(x, width, 3, strides)
        y = nn.relu(_batch_norm(train, names.bn_after())(y))
        y = conv(y, width, 3, 1)
        y = _batch_norm(train, names.bn_after())(y)
        if strides != 1:
          x = conv(x, width, 1, strides, kind="shortcut")
        x = nn.relu(x + y)
    x = nn.avg_pool(x, (8, 8), strides=(8, 8))
    x = x.reshape((x.shape[0], -1))
    return nn.Dense(self.num_classes, use_bias=False, kernel_init=init,
                    name=names.kernel("dense"))(x)


class WideResNet(nn.Module):
  """Pre-activation Wide ResNet of depth 6N+4 (the paper's WRN-28-10, dropout 0.3).

  Input conv16; 3 stages (16k/32k/64k filters) of N blocks, each
  [BN-ReLU-conv3x3(stride s)] then [BN-ReLU-Dropout-conv3x3]; stride 2 in the first block of
  stages 2 and 3. The shortcut is the raw block input, or a 1x1 conv (stride s) of it when
  the shape changes (also in stage 1 when 16 != 16k). Head: BN-ReLU -> GAP -> Dense.
  The Keras code pads 3x3 convs with ZeroPadding2D(1) + 'valid', i.e. symmetric padding 1:
  unlike TF 'SAME' (pad 0 before, 1 after) this matters for the stride-2 convs.
  """

  num_classes: int
  depth: int = 28
  width: int = 10
  dropout_rate: float = 0.3

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    if (self.depth - 4) % 6 != 0 or self.depth < 10:
      raise ValueError(f"wide resnet depth must be 6N+4 with N >= 1 (10, 16, 28...), "
                       f"got {self.depth}")
    blocks = (self.depth - 4) // 6
    names = LayerNamer()

    def conv(y, features, kernel, strides, kind="conv"):
      padding = ((1, 1), (1, 1)) if kernel == 3 else "VALID"
      return nn.Conv(features, (kernel, kernel), strides=strides, padding=padding,
                     use_bias=False, kernel_init=GLOROT_UNIFORM, name=names.kernel(kind))(y)

    x = conv(x, 16, 3, 1)
    for stage, features in enumerate((16 * self.width, 32 * self.width, 64 * self.width)):
      for block in range(blocks):
        strides = 2 if stage > 0 and block == 0 else 1
        y = nn.relu(_batch_norm(train, names.bn_before())(x))
        y = conv(y, features, 3, strides)
        y = nn.relu(_batch_norm(train, names.bn_before())(y))
        if self.dropout_rate > 0:
          y = nn.Dropout(self.dropout_rate, deterministic=not train)(y)
        y = conv(y, features, 3, 1)
        if strides != 1 or x.shape[-1] != features:
          x = conv(x, features, 1, strides, kind="shortcut")
        x = x + y
    x = nn.relu(_batch_norm(train, names.bn_before())(x))
    x = jnp.mean(x, axis=(1, 2))
    return nn.Dense(self.num_classes, use_bias=False, kernel_init=GLOROT_UNIFORM,
                    name=names.kernel("dense"))(x)


class MLPBatchNorm(nn.Module):
  """The §6 MNIST model: Flatten -> Dense(hidden) -> BN (with γ/β) -> ReLU -> Dense.

  Keras defaults throughout: both Dense layers have biases, the BN is affine with momentum
  0.99 and epsilon 1e-3, kernels are glorot_uniform. Layca leaves biases and γ/β frozen.
  """

  num_classes: int
  hidden: int = 784

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    x = x.reshape((x.shape[0], -1))
    x = nn.Dense(self.hidden, kernel_init=GLOROT_UNIFORM, name=names.kernel("dense"))(x)
    x = nn.relu(_batch_norm(train, names.bn_after(), affine=True)(x))
    return nn.Dense(self.num_classes, kernel_init=GLOROT_UNIFORM, name=names.kernel("dense"))(x)


@MODELS.register("c10_cnn1")
def c10_cnn1(num_classes: int = 10) -> nn.Module:
  """C10-CNN1: 25-layer VGG, 4 stages x 6 convs of 32/64/128/256 filters, he_uniform."""
  return KerasVGG(num_classes, widths=(32, 64, 128, 256), convs_per_stage=6)


@MODELS.register("tiny_cnn")
def tiny_cnn(num_classes: int = 200) -> nn.Module:
  """tiny-CNN: 11-layer VGG for 64x64 Tiny ImageNet, 5 stages x 2 convs, BN momentum 0.9."""
  return KerasVGG(num_classes, widths=(32, 64, 128, 256, 512), convs_per_stage=2,
                  bn_momentum=0.9)


@MODELS.register("c10_cnn2")
def c10_cnn2(num_classes: int = 10, he_normal_variant: str = "keras_2.1") -> nn.Module:
  """C10-CNN2: the torch-blog VGG (13 convs + FC512 + FC), he_normal; see `he_normal`."""
  return TorchBlogVGG(num_classes, he_normal_variant=he_normal_variant)


@MODELS.register("resnet_v1")
def resnet_v1(num_classes: int = 10, depth: int = 32,
              he_normal_variant: str = "keras_2.1") -> nn.Module:
  """Keras resnet_v1 of depth 6n+2; he_normal (see `he_normal` for the variants)."""
  return ResNetV1(num_classes, depth=depth, he_normal_variant=he_normal_variant)


@MODELS.register("resnet32")
def resnet32(num_classes: int = 100, he_normal_variant: str = "keras_2.1") -> nn.Module:
  """C100-resnet: resnet_v1 of depth 32 (34 kernel layers)."""
  return ResNetV1(num_classes, depth=32, he_normal_variant=he_normal_variant)


@MODELS.register("resnet110")
def resnet110(num_classes: int = 10, he_normal_variant: str = "keras_2.1") -> nn.Module:
  """C10-resnet (warm-up experiment): resnet_v1 of depth 110 (112 kernel layers)."""
  return ResNetV1(num_classes, depth=110, he_normal_variant=he_normal_variant)


@MODELS.register("wrn_28_10")
def wrn_28_10(num_classes: int = 100, depth: int = 28, width: int = 10,
              dropout_rate: float = 0.3) -> nn.Module:
  """C100-WRN: pre-activation WRN-28-10 with dropout 0.3, glorot_uniform (Keras default)."""
  return WideResNet(num_classes, depth=depth, width=width, dropout_rate=dropout_rate)


@MODELS.register("mnist_mlp_bn")
def mnist_mlp_bn(num_classes: int = 10, hidden: int = 784) -> nn.Module:
  """The §6 MNIST model: 784-784-10 MLP with an affine BN after the first Dense."""
  return MLPBatchNorm(num_classes, hidden=hidden)
