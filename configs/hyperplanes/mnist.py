"""Hyperplane statistics and layer criticality on MNIST; setup and variants in `base.py`.

  python -m jaxgen.main --config=configs/hyperplanes/mnist.py:lenet --workdir=/tmp/hp/mnist
  python -m jaxgen.analysis.hyperplanes projections /tmp/hp/mnist
  python -m jaxgen.analysis.hyperplanes criticality /tmp/hp/mnist

The argument after ":" picks the architecture: lenet (default), vgg11, vgg13, vgg16, vgg19,
vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn_tv (torchvision's vgg19_bn), vgg19_orig.

VGGs need 32x32 inputs (five 2x2 max-pools): for them the digits are resized to 32x32
(`data.resize`, an assumption: the code's MNIST pipeline for VGGs is not documented);
LeNet runs on the 28x28 digits.

Expected (spec, unverified numbers): projection mass about 0.5 at init in every layer; after
training, layers whose mass moved away from 0.5 are the critical ones (a large accuracy drop
when reset to their early values), the others can be reset with little loss.
Runtime: not measured here (MNIST cannot be downloaded on the machine this was written on).
"""

import ml_collections

from configs.hyperplanes import base

DATASET = "mnist"


def get_config(arch: str = "lenet") -> ml_collections.ConfigDict:
  config = base.get_config(arch, DATASET)
  if arch != "lenet":
    config.data.resize = 32
  return config
