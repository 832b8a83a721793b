"""Gamba et al. (hyperplane arrangements) and Zhang, Bengio & Singer (layer criticality) setup.

  python -m jaxgen.main --config=configs/hyperplanes/cifar10.py:vgg11 --workdir=/tmp/hp/vgg11
  python -m jaxgen.analysis.hyperplanes projections /tmp/hp/vgg11
  python -m jaxgen.analysis.hyperplanes criticality /tmp/hp/vgg11

Section 2 of the study spec, following the defaults of the original `train.py`: SGD with
momentum 0.9, lr 1e-3, weight decay 1e-4 (PyTorch convention), batch 128, 20 epochs, the test
set as the validation set (no split), the dataset's fixed normalisation constants, and
snapshots of the weights at init, after each of the first 5 epochs and every 5 epochs after
(the τ of the re-initialisation heatmap). The per-layer projection mass and mean are logged
every epoch ("projection_mass", "projection_mean"), so their drift is in metrics.jsonl.

The settings of the paper's figures are not in the released code (its README trains VGG19 on
ImageNet for 40 epochs at lr 0.01): these defaults are the code's, not the paper's.

Data variants (command-line overrides), as the code's options:
- augmentation (`--augmentation`): --config.augment.random_crop=True
  --config.augment.crop_padding=4 --config.augment.flip=True;
- label noise p (`--noise p`, a corrupted label always differs from the true one):
  --config.data.corruption.kind=partial_labels --config.data.corruption.level=p
  --config.data.corruption.label_noise=always_different;
- pixel shuffle (`--noise -1`, a different permutation per training image, test set intact):
  --config.data.corruption.kind=random_pixels.
"""

import ml_collections

from configs import default

# The code's normalisation constants (CIFAR std values as in its data_loader.py).
NORMALIZATION = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2009, 0.1984, 0.2023)),
    "mnist": ((0.1307,), (0.3015,)),
}
ARCHITECTURES = ("lenet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn",
                 "vgg16_bn", "vgg19_bn_tv", "vgg19_orig")


def get_config(arch: str, dataset: str) -> ml_collections.ConfigDict:
  """The code's default training of `arch` on `dataset` (a key of NORMALIZATION)."""
  if arch not in ARCHITECTURES:
    raise ValueError(f"unknown architecture {arch!r}; valid choices: {', '.join(ARCHITECTURES)}")
  config = default.get_config()
  config.data.name = dataset
  config.data.normalization = "fixed"
  config.data.mean, config.data.std = NORMALIZATION[dataset]
  config.model = ml_collections.ConfigDict({"name": arch})

  config.optim.name = "sgd"
  config.optim.learning_rate = 1e-3
  config.optim.momentum = 0.9
  config.optim.weight_decay = 1e-4
  config.optim.weight_decay_convention = "pytorch"
  config.optim.schedule = "constant"

  config.train.num_epochs = 20
  config.train.batch_size = 128
  config.train.eval_batch_size = 500
  config.train.eval_top_k = (5,)  # The code stores top-1 and top-5 test accuracy.

  config.metrics.names = ("projection_mass", "projection_mean", "layer_rotation")
  config.checkpoint.snapshot_until_epoch = 5
  config.checkpoint.snapshot_every_epochs = 5
  return config
