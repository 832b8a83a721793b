"""Blumenfeld, Gilboa & Soudry (feature diversity at init): ConstNet, VarNet and LeakyNet.

  python -m jaxgen.main --config=configs/diversity/constnet.py:dropout --workdir=/tmp/div/cn
  python -m launch.local --config=configs/diversity/leakynet.py --workdir=/tmp/div/leaky

Section 4 of the study spec, the camera-ready code's `train.py`: CIFAR-10 normalised with the
code's constants, reflect-padded (4 px) random 32x32 crops and horizontal flips, SGD lr 0.03
(momentum 0.9, no Nesterov), weight decay 5e-4 (PyTorch convention), batch 128, lr x0.2 at
1-based epochs E-140, E-80 and E-40 (E = 300 for ConstNet as in its README, 200 for the
LeakyNet script), the test set evaluated every epoch. The forward, backward and kernel weight
correlations of every layer are logged every epoch ("*_correlation" metrics).

JAX is deterministic, so the GPU non-determinism that breaks ConstNet's symmetry in PyTorch
cannot happen here: `optim.gradient_noise` (i.i.d. Gaussian noise on every gradient entry) is
the explicit emulation; the code's other breaker, dropout 0.01 in every residual branch, is
`model.droprate`. The deterministic condition (neither) is the negative control.
"""

import ml_collections

from configs import default

# The code's CIFAR-10 normalisation: mean (125.3, 123.0, 113.9) / 255, std (63.0, 62.1, 66.7)
# / 255.
CIFAR10_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
CIFAR10_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)


def schedule_milestones(epochs: int) -> tuple[int, ...]:
  """0-based epoch indices of the x0.2 drops: lr is multiplied at 1-based epochs E-140, E-80,
  E-40 (E = 300: 160, 220, 260), i.e. from 0-based index E-141 on.

  Raises:
    ValueError: for E <= 141, where the code's formula would start at a reduced lr.
  """
  if epochs <= 141:
    raise ValueError(f"train.num_epochs={epochs}: the code's schedule needs more than 141 "
                     "epochs")
  return tuple(epochs - back - 1 for back in (140, 80, 40))


def get_config(model: ml_collections.ConfigDict, epochs: int) -> ml_collections.ConfigDict:
  """The code's CIFAR-10 training of `model` (a config.model dict) for `epochs` epochs."""
  config = default.get_config()
  config.data.name = "cifar10"
  config.data.normalization = "fixed"
  config.data.mean, config.data.std = CIFAR10_MEAN, CIFAR10_STD
  config.augment.random_crop = True
  config.augment.crop_padding = 4
  config.augment.pad_mode = "reflect"
  config.augment.flip = True
  config.model = model

  config.optim.name = "sgd"
  config.optim.learning_rate = 0.03
  config.optim.momentum = 0.9
  config.optim.nesterov = False
  config.optim.weight_decay = 5e-4
  config.optim.weight_decay_convention = "pytorch"
  config.optim.schedule = "step"
  config.optim.milestones = schedule_milestones(epochs)
  config.optim.decay_factor = 0.2

  config.train.num_epochs = epochs
  config.train.batch_size = 128
  config.train.eval_batch_size = 500
  # No layer_rotation: ConstNet's zero-initialised kernels have no direction to rotate from.
  config.metrics.names = ("forward_correlation", "backward_correlation", "kernel_correlation")
  return config
