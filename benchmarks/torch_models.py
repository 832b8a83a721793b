"""PyTorch versions of the benchmarked jaxgen models, written for `vs_pytorch.py`.

Each has the layers, shapes and parameter count of its jaxgen model (the benchmark checks the
counts), in idiomatic PyTorch (NCHW, `nn.Sequential` where it fits, default inits: the
initial values do not change the cost of a step). SAME-padded TF-style pools and convs use
PyTorch's symmetric padding, which gives the same output sizes (and costs) on these inputs.
"""

import torch
from torch import nn


class Flatten(nn.Module):
  """Flattens all but the batch axis."""

  def forward(self, x):
    return x.flatten(1)


def mlp(widths: tuple[int, ...], in_features: int, num_classes: int = 10) -> nn.Module:
  """Flatten -> [Linear -> ReLU] per width -> Linear."""
  layers: list[nn.Module] = [Flatten()]
  for width in widths:
    layers += [nn.Linear(in_features, width), nn.ReLU()]
    in_features = width
  return nn.Sequential(*layers, nn.Linear(in_features, num_classes))


def alexnet_small(num_classes: int = 10) -> nn.Module:
  """Zhang et al.'s small AlexNet on 28x28x3: 2 x [conv5x5(64)-ReLU-pool3x3/2-LRN], 384, 192."""
  # torch's LRN divides alpha by the window size; jaxgen's (TF's) alpha is 0.001 / 9.
  def stage(in_channels):
    return [nn.Conv2d(in_channels, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
            nn.LocalResponseNorm(9, alpha=0.001, beta=0.75, k=1.0)]
  return nn.Sequential(*stage(3), *stage(64), Flatten(), nn.Linear(7 * 7 * 64, 384), nn.ReLU(),
                       nn.Linear(384, 192), nn.ReLU(), nn.Linear(192, num_classes))


class OffsetBatchNorm(nn.Module):
  """BatchNorm with an offset and no scale (TF's default, as jaxgen's Small Inception)."""

  def __init__(self, channels: int):
    super().__init__()
    self.norm = nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01, affine=False)
    self.bias = nn.Parameter(torch.zeros(channels))

  def forward(self, x):
    return self.norm(x) + self.bias[:, None, None]


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int = 1):
  return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride,
                                 padding=kernel // 2, bias=False),
                       OffsetBatchNorm(out_channels), nn.ReLU())


class Inception(nn.Module):
  """concat[ConvBNReLU(c1, 1x1), ConvBNReLU(c3, 3x3)]."""

  def __init__(self, in_channels: int, c1: int, c3: int):
    super().__init__()
    self.one = _conv_bn_relu(in_channels, c1, 1)
    self.three = _conv_bn_relu(in_channels, c3, 3)

  def forward(self, x):
    return torch.cat([self.one(x), self.three(x)], 1)


class Downsample(nn.Module):
  """concat[ConvBNReLU(c3, 3x3, stride 2), MaxPool 3x3/2]."""

  def __init__(self, in_channels: int, c3: int):
    super().__init__()
    self.conv = _conv_bn_relu(in_channels, c3, 3, 2)
    self.pool = nn.MaxPool2d(3, 2, padding=1)

  def forward(self, x):
    return torch.cat([self.conv(x), self.pool(x)], 1)


def inception_small(stages, num_classes: int = 10) -> nn.Module:
  """Zhang et al.'s small Inception (with batch norm) for `stages` as in jaxgen."""
  layers: list[nn.Module] = [_conv_bn_relu(3, 96, 3)]
  channels = 96
  for stage in stages:
    if stage[0] == "inception":
      layers.append(Inception(channels, stage[1], stage[2]))
      channels = stage[1] + stage[2]
    else:
      layers.append(Downsample(channels, stage[1]))
      channels += stage[1]
  return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), Flatten(),
                       nn.Linear(channels, num_classes))


def alexnet_cifar(num_classes: int = 10) -> nn.Module:
  """The CIFAR AlexNet of the relative-weight-change study, on 32x32x3."""
  return nn.Sequential(
      nn.Conv2d(3, 64, 3, 2, 1), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
      nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
      nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
      Flatten(), nn.Dropout(0.5), nn.Linear(1024, 4096), nn.ReLU(),
      nn.Dropout(0.5), nn.Linear(4096, 1024), nn.ReLU(), nn.Linear(1024, num_classes))


def lenet(num_classes: int = 10) -> nn.Module:
  """Gamba et al.'s LeNet on 32x32x3: conv3x3 6, 6, M, 16, 16, M, 64, 64, M, avgpool 3."""
  layers: list[nn.Module] = []
  channels = 3
  for entry in (6, 6, "M", 16, 16, "M", 64, 64, "M"):
    if entry == "M":
      layers.append(nn.MaxPool2d(2))
    else:
      layers += [nn.Conv2d(channels, entry, 3, padding=1), nn.ReLU()]
      channels = entry
  return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(3), Flatten(),
                       nn.Linear(64 * 9, 120), nn.ReLU(), nn.Dropout(0.5),
                       nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.5),
                       nn.Linear(84, num_classes))


def _bn(channels: int) -> nn.Module:
  # Keras BatchNormalization(center=False, scale=False), as jaxgen's WideResNet.
  return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01, affine=False)


class WideBlock(nn.Module):
  """Pre-activation block: BN-ReLU-conv3x3(s), BN-ReLU-Dropout-conv3x3, 1x1 shortcut if needed."""

  def __init__(self, in_channels: int, channels: int, stride: int, dropout: float):
    super().__init__()
    self.bn1, self.bn2 = _bn(in_channels), _bn(channels)
    self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
    self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
    self.dropout = nn.Dropout(dropout)
    self.shortcut = None
    if stride != 1 or in_channels != channels:
      self.shortcut = nn.Conv2d(in_channels, channels, 1, stride, bias=False)

  def forward(self, x):
    y = self.conv1(torch.relu(self.bn1(x)))
    y = self.conv2(self.dropout(torch.relu(self.bn2(y))))
    return (x if self.shortcut is None else self.shortcut(x)) + y


def wide_resnet(depth: int = 16, width: int = 10, dropout: float = 0.3,
                num_classes: int = 10) -> nn.Module:
  """Pre-activation WRN-depth-width (jaxgen's `wrn_28_10` at another depth), on 32x32x3."""
  blocks = (depth - 4) // 6
  layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
  channels = 16
  for stage, features in enumerate((16 * width, 32 * width, 64 * width)):
    for block in range(blocks):
      stride = 2 if stage > 0 and block == 0 else 1
      layers.append(WideBlock(channels, features, stride, dropout))
      channels = features
  return nn.Sequential(*layers, _bn(channels), nn.ReLU(), nn.AdaptiveAvgPool2d(1), Flatten(),
                       nn.Linear(channels, num_classes, bias=False))
