"""Architectures of the layer-wise weight-change study (Agrawal et al., arXiv 2011.06735).

Flax versions of the three PyTorch models of `Manifold-Computing/Layer-Wise-Learning-Trends-PyTorch`
(spec §5), for 32x32 inputs with 3 (CIFAR) or 1 (MNIST/FashionMNIST resized to 32x32)
channels. flax infers the input channels, so one builder serves both.

| name          | model                    | kernel layers | params (CIFAR-10) | init            |
|---------------|--------------------------|---------------|-------------------|-----------------|
| resnet18      | kuangliu CIFAR ResNet-18 | 21            | 11,173,962        | PyTorch default |
| vgg19_bn      | CIFAR VGG-19 with BN     | 17            | 20,040,522        | code-specified  |
| alexnet_cifar | CIFAR AlexNet variant    | 8             | 10,655,562        | PyTorch default |

`resnet18(widths=...)` and `vgg19_bn(width_multiplier=...)` build narrower versions with the
same kernel layers, in the same order (the CPU-sized study `configs/rwc/mnist_cpu.py`).

The paper's "layers" (every parameter with ndim > 1) are exactly the conv and dense kernels.
Kernel modules are named `layer007_conv`, `layer007_shortcut`, `layer020_dense` with the
index counting kernels in call order (= PyTorch `named_parameters` order), so
`path_rules.layer_paths` lists them in network order; a BatchNorm is named after the kernel it
follows (`layer007_bn`).

Differences from PyTorch that do not change the function class or the parameter count:
- NHWC flattening before a dense layer orders features as (h, w, c) instead of (c, h, w);
  only a weight-by-weight port would have to permute the rows.
- BatchNorm uses PyTorch's momentum 0.1 (flax 0.9) and eps 1e-5, but flax updates the running
  variance with the biased batch variance where PyTorch uses the unbiased one: a factor
  n / (n - 1) with n = batch * height * width, negligible at batch 128.
- The ResNet head is AvgPool 4x4 + Flatten as in the code, so like the original it expects
  32x32 inputs (4x4 final maps); flax's Dense would silently accept a larger flattened input.
"""

import flax.linen as nn
import jax.numpy as jnp

from jaxgen.models.naming import LayerNamer
from jaxgen.models.pooling import max_pool
from jaxgen.models.registry import MODELS
from jaxgen.models.torch_layers import (
  VGG_CONV_INIT,
  VGG_DENSE_INIT,
  batch_norm,
  torch_conv,
  torch_dense,
)

RESNET18_WIDTHS = (64, 128, 256, 512)
VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
             512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
# AlexNet convs: (features, stride, max-pool 2x2 after the ReLU).
ALEXNET_CONVS = ((64, 2, True), (192, 1, True), (384, 1, False), (256, 1, False),
                 (256, 1, True))
ALEXNET_HIDDEN = (4096, 1024)


class CifarResNet(nn.Module):
  """kuangliu-style CIFAR ResNet with BasicBlocks (ResNet-18 by default).

  Stem conv3x3(widths[0], stride 1)-BN-ReLU; 4 stages of BasicBlocks (`widths` filters,
  64/128/256/512 by default; stride 2 in the first block of stages 2-4). BasicBlock:
  conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the input, or a 1x1 conv(stride)-BN of it when
  the stride or width changes; then ReLU.
  Head: AvgPool 4x4 (global on the 4x4 maps of 32x32 inputs) -> Flatten -> Dense (with bias).
  Convs have no bias. Kernel order: conv1, conv2, then the block's shortcut (PyTorch order).
  """

  num_classes: int
  blocks_per_stage: tuple[int, ...] = (2, 2, 2, 2)
  widths: tuple[int, ...] = RESNET18_WIDTHS

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()

    def conv_bn(y, width, kernel, strides, kind="conv"):
      y = torch_conv(y, width, kernel, strides, use_bias=False, name=names.kernel(kind))
      return batch_norm(train, names.bn_after())(y)

    x = nn.relu(conv_bn(x, self.widths[0], 3, 1))
    for stage, (blocks, width) in enumerate(zip(self.blocks_per_stage, self.widths,
                                                strict=True)):
      for block in range(blocks):
        strides = 2 if stage > 0 and block == 0 else 1
        y = nn.relu(conv_bn(x, width, 3, strides))
        y = conv_bn(y, width, 3, 1)
        if strides != 1 or x.shape[-1] != width:
          x = conv_bn(x, width, 1, strides, kind="shortcut")
        x = nn.relu(x + y)
    x = nn.avg_pool(x, (4, 4), strides=(4, 4))
    x = x.reshape((x.shape[0], -1))
    return torch_dense(x, self.num_classes, name=names.kernel("dense"))


class CifarVGG(nn.Module):
  """CIFAR VGG with BatchNorm: per cfg entry conv3x3(pad 1, bias)-BN-ReLU, or "M" max-pool 2/2.

  Then Flatten (1x1x512 on 32x32 inputs) -> a single Dense(num_classes). Init as in the code:
  conv kernels N(0, sqrt(2 / (9 * C_out))), conv biases 0, dense N(0, 0.01) with bias 0,
  BN gamma 1 and beta 0.
  """

  num_classes: int
  cfg: tuple[int | str, ...] = VGG19_CFG

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    for entry in self.cfg:
      if entry == "M":
        x = max_pool(x, (2, 2), strides=(2, 2))
        continue
      x = torch_conv(x, entry, 3, 1, use_bias=True, name=names.kernel("conv"),
                      kernel_init=VGG_CONV_INIT, bias_init=nn.initializers.zeros)
      x = nn.relu(batch_norm(train, names.bn_after())(x))
    x = x.reshape((x.shape[0], -1))
    return nn.Dense(self.num_classes, kernel_init=VGG_DENSE_INIT,
                    bias_init=nn.initializers.zeros, name=names.kernel("dense"))(x)


class CifarAlexNet(nn.Module):
  """The CIFAR AlexNet variant: 5 convs (3x3, pad 1, bias) with ReLU, 3 max-pools, 3 dense.

  conv(64, s2)-ReLU-pool, conv(192)-ReLU-pool, conv(384)-ReLU, conv(256)-ReLU,
  conv(256)-ReLU-pool (32 -> 16 -> 8 -> 4 -> 2), Flatten (2*2*256 = 1024) -> Dropout ->
  Dense 4096 -> ReLU -> Dropout -> Dense 1024 -> ReLU -> Dense(num_classes).
  PyTorch default init. Dropout (rng stream "dropout") is active only when `train`.
  """

  num_classes: int
  dropout_rate: float = 0.5

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    names = LayerNamer()
    for features, strides, pool in ALEXNET_CONVS:
      x = nn.relu(torch_conv(x, features, 3, strides, use_bias=True, name=names.kernel("conv")))
      if pool:
        x = max_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape((x.shape[0], -1))
    for hidden in ALEXNET_HIDDEN:
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
      x = nn.relu(torch_dense(x, hidden, name=names.kernel("dense")))
    return torch_dense(x, self.num_classes, name=names.kernel("dense"))


@MODELS.register("resnet18")
def resnet18(num_classes: int = 10,
             widths: tuple[int, ...] = RESNET18_WIDTHS) -> nn.Module:
  """kuangliu CIFAR ResNet-18 (21 kernel layers), PyTorch default init.

  Args:
    num_classes: outputs of the classifier.
    widths: filters of the stem and the 4 stages; the paper's (64, 128, 256, 512) by
      default. Narrower widths keep the 21 kernel layers and their order (the CPU study
      `configs/rwc/mnist_cpu.py` uses (8, 16, 32, 64)).

  Returns:
    The module.
  """
  if len(widths) != len(RESNET18_WIDTHS):
    raise ValueError(f"resnet18 has {len(RESNET18_WIDTHS)} stages; got widths {widths}")
  return CifarResNet(num_classes, widths=tuple(widths))


@MODELS.register("vgg19_bn")
def vgg19_bn(num_classes: int = 10, width_multiplier: float = 1.0) -> nn.Module:
  """CIFAR VGG-19 with BN (16 convs + 1 dense), the code's explicit init.

  Args:
    num_classes: outputs of the classifier.
    width_multiplier: scales every conv's filters (rounded, at least 1); 1 is the paper's
      64..512. The conv init N(0, sqrt(2 / (9 * C_out))) follows the scaled width.

  Returns:
    The module.
  """
  cfg = tuple(e if e == "M" else max(1, round(e * width_multiplier)) for e in VGG19_CFG)
  return CifarVGG(num_classes, cfg=cfg)


@MODELS.register("alexnet_cifar")
def alexnet_cifar(num_classes: int = 10, dropout_rate: float = 0.5) -> nn.Module:
  """The CIFAR AlexNet variant (5 convs + 3 dense), PyTorch default init."""
  return CifarAlexNet(num_classes, dropout_rate)
