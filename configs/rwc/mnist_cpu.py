"""CPU-sized relative-weight-change run on the embedded MNIST digits (draft)."""

import ml_collections

from configs.rwc import base


def get_config(arch: str = "alexnet_cifar") -> ml_collections.ConfigDict:
  config = base.get_config(arch, "mnist")
  config.data.name = "mnist_embedded"
  config.seeds = (0, 42)
  config.train.num_epochs = 10
  config.logging.tensorboard = False
  return config
