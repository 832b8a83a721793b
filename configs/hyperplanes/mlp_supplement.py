"""The MLP supplement of Gamba et al.: projection statistics of dense layers on CIFAR-10.

  python -m jaxgen.main --config=configs/hyperplanes/mlp_supplement.py --workdir=/tmp/hp/mlp_bn
  python -m jaxgen.analysis.hyperplanes projections /tmp/hp/mlp_bn --with_linear

The command of the code's `mlp/README.md`: `mlp_bn` (3072-4096, three 4096-1024-4096
bottleneck blocks with dropout 0.2 and BN, then 4096-10; `:mlp` drops the BNs) on CIFAR-10
with augmentation (random crop with 4-pixel padding, flips) and shuffling, 300 epochs, batch
128, SGD lr 0.01 (momentum 0.9, as `train.py`) x0.1 every 100 epochs, weight decay 5e-4;
snapshots every 10 epochs and after each of the first 10; projections of dense layers
(`--with-linear`, logged every epoch here) and distances from init.
Runtime: not measured here (no CIFAR-10 on the machine this was written on).
"""

import ml_collections

from configs.hyperplanes import base

VARIANTS = {"mlp_bn": "mlp_bn_gamba", "mlp": "mlp_gamba"}


def get_config(variant: str = "mlp_bn") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; valid choices: {', '.join(VARIANTS)}")
  config = base.get_config("lenet", "cifar10")
  config.model = ml_collections.ConfigDict({"name": VARIANTS[variant]})
  config.augment.random_crop = True
  config.augment.crop_padding = 4
  config.augment.flip = True
  config.optim.learning_rate = 0.01
  config.optim.weight_decay = 5e-4
  config.optim.schedule = "step"
  config.optim.milestones = (100, 200)
  config.optim.decay_factor = 0.1
  config.train.num_epochs = 300
  config.metrics.projection_with_linear = True
  config.checkpoint.snapshot_until_epoch = 10
  config.checkpoint.snapshot_every_epochs = 10
  return config
