"""Relative weight change on MNIST (Agrawal et al. 2020); setup in `base.py`.

  python -m jaxgen.main --config=configs/rwc/mnist.py:resnet18 --workdir=/tmp/rwc/mnist_r18
  python -m launch.local --config=configs/rwc/mnist.py --workdir=/tmp/rwc/mnist
  python -m jaxgen.analysis.rwc /tmp/rwc/mnist

The argument after ":" picks the architecture: resnet18 (default), vgg19_bn, alexnet_cifar.
`get_sweep()` runs all three, each with the five seeds vmapped in one run.

Paper (final test accuracy, mean of five seeds): ResNet-18 99%, VGG19-BN 98.5%, AlexNet 98.5%.
Trends: RWC is lower than on Fashion-MNIST; ResNet-18: Block4 < Block3; VGG: later layers
lowest; AlexNet: early < middle < later.
Runtime: not measured (no MNIST or GPU on the machine this was written on); 150 epochs of
five vmapped seeds are GPU jobs.
"""

import ml_collections

from configs.rwc import base

DATASET = "mnist"


def get_sweep() -> list[dict]:
  """The three architectures."""
  return base.architecture_sweep(DATASET)


def get_config(arch: str = "resnet18") -> ml_collections.ConfigDict:
  return base.get_config(arch, DATASET)
