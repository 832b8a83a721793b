"""Hyperplane statistics and layer criticality on CIFAR-100; setup and variants in `base.py`.

  python -m jaxgen.main --config=configs/hyperplanes/cifar100.py:lenet --workdir=/tmp/hp/cifar100
  python -m jaxgen.analysis.hyperplanes projections /tmp/hp/cifar100
  python -m jaxgen.analysis.hyperplanes criticality /tmp/hp/cifar100

The argument after ":" picks the architecture: lenet (default), vgg11, vgg13, vgg16, vgg19,
vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn_tv (torchvision's vgg19_bn), vgg19_orig.

Expected (spec, unverified numbers): projection mass about 0.5 at init in every layer; after
training, layers whose mass moved away from 0.5 are the critical ones (a large accuracy drop
when reset to their early values), the others can be reset with little loss.
Runtime: not measured here (CIFAR-100 cannot be downloaded on the machine this was written on).
"""

import ml_collections

from configs.hyperplanes import base

DATASET = "cifar100"


def get_config(arch: str = "lenet") -> ml_collections.ConfigDict:
  config = base.get_config(arch, DATASET)
  return config
