"""Relative weight change on CIFAR-100 (Agrawal et al. 2020); setup in `base.py`.

  python -m jaxgen.main --config=configs/rwc/cifar100.py:resnet18 --workdir=/tmp/rwc/cifar100_r18
  python -m launch.local --config=configs/rwc/cifar100.py --workdir=/tmp/rwc/cifar100
  python -m jaxgen.analysis.rwc /tmp/rwc/cifar100

The argument after ":" picks the architecture: resnet18 (default), vgg19_bn, alexnet_cifar.
`get_sweep()` runs all three, each with the five seeds vmapped in one run.

Paper (final test accuracy, mean of five seeds): ResNet-18 64%, VGG19-BN 63.6%, AlexNet 53%.
Trends: RWC is higher than on CIFAR-10 overall; ResNet-18: Block4 > Block3 (later layers
recruited more); VGG: middle ≈ later; AlexNet: early < middle < later.
Runtime: not measured (no CIFAR-100 or GPU on the machine this was written on); 150 epochs of
five vmapped seeds are GPU jobs.
"""

import ml_collections

from configs.rwc import base

DATASET = "cifar100"


def get_sweep() -> list[dict]:
  """The three architectures."""
  return base.architecture_sweep(DATASET)


def get_config(arch: str = "resnet18") -> ml_collections.ConfigDict:
  return base.get_config(arch, DATASET)
