"""Relative weight change on CIFAR-10 (Agrawal et al. 2020); setup in `base.py`.

  python -m jaxgen.main --config=configs/rwc/cifar10.py:resnet18 --workdir=/tmp/rwc/cifar10_r18
  python -m launch.local --config=configs/rwc/cifar10.py --workdir=/tmp/rwc/cifar10
  python -m jaxgen.analysis.rwc /tmp/rwc/cifar10

The argument after ":" picks the architecture: resnet18 (default), vgg19_bn, alexnet_cifar.
`get_sweep()` runs all three, each with the five seeds vmapped in one run.

Paper (final test accuracy, mean of five seeds): ResNet-18 91%, VGG19-BN 90.5%, AlexNet 81%.
Trends: RWC is larger in later layers; ResNet-18: Block1 < Block2 < Block3 ≈ Block4; VGG:
early < middle, later < middle; AlexNet: early and later < middle.
Runtime: not measured (no CIFAR-10 or GPU on the machine this was written on); 150 epochs of
five vmapped seeds are GPU jobs.
"""

import ml_collections

from configs.rwc import base

DATASET = "cifar10"


def get_sweep() -> list[dict]:
  """The three architectures."""
  return base.architecture_sweep(DATASET)


def get_config(arch: str = "resnet18") -> ml_collections.ConfigDict:
  return base.get_config(arch, DATASET)
