"""Agrawal et al. (2020) setup, the base of every relative-weight-change config.

  python -m jaxgen.main --config=configs/rwc/cifar10.py:resnet18 --workdir=/tmp/rwc/c10_r18
  python -m jaxgen.analysis.rwc /tmp/rwc/c10_r18

Section 5 of the study spec: ResNet-18 (kuangliu CIFAR variant), VGG19-BN and the CIFAR AlexNet
on CIFAR-10, CIFAR-100, MNIST and Fashion-MNIST (tfds; prepare once with
`python -m jaxgen.data.prepare <name>`).
SGD with momentum 0.9 at a constant learning rate (per architecture and dataset), weight decay
in the PyTorch convention (1e-4; 5e-4 for VGG), batch 128, 150 epochs, the five seeds
0, 42, 123, 1000, 1234 trained together (vmapped) and averaged by the analysis. Batches follow
the dataset order every epoch: the original DataLoaders never shuffle. Relative weight change
(RWC) of every kernel (conv and dense weights; biases and BN excluded) once per epoch against
the previous epoch's weights (epoch 1 against the initialisation).

RWC variant (an ambiguity the spec flags): `metrics.rwc_variant="l1_ratio"` (default) is the
paper's Eq. (1), ||w_t - w_{t-1}||_1 / ||w_{t-1}||_1; `"elementwise_mean"` is what the
released code computed (the mean over weights of |Δw| / |w|, dominated by near-zero weights),
i.e. the numbers behind the paper's curves.

CIFAR: random 32x32 crops of the 4-pixel padded image and horizontal flips, ImageNet mean/std.
MNIST/Fashion-MNIST: resized to 32x32, random horizontal flips (even for digits, as the code
did), no normalisation. Known differences from the PyTorch code: the padding of random crops
is 0 in the normalised image (the data mean), where torchvision pads black pixels before
normalising; resized digits stay float where torchvision rounds them to uint8; an epoch drops
its last partial batch (390 steps on CIFAR where PyTorch runs 391), which without shuffling
means the last 80 CIFAR (96 MNIST) training images are never seen.

Early stopping: the code stops once the test accuracy reaches `target_val_acc` (94% by
default, which never triggers on CIFAR or Fashion-MNIST); the per-run values used for MNIST
are unknown, so the default here is no early stopping (`train.stop.target_test_accuracy`).
"""

import ml_collections

from configs import default
from jaxgen.config import apply_overrides

ARCHITECTURES = ("resnet18", "vgg19_bn", "alexnet_cifar")
DATASETS = ("cifar10", "cifar100", "mnist", "fashion_mnist")
SEEDS = (0, 42, 123, 1000, 1234)
# torchvision's ImageNet statistics, which the code normalises CIFAR with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# Supplement Table 1: constant learning rate per (architecture, dataset), weight decay per
# architecture.
LEARNING_RATES = {
    "resnet18": {"cifar10": 0.1, "cifar100": 0.1, "mnist": 0.1, "fashion_mnist": 0.1},
    "vgg19_bn": {"cifar10": 0.05, "cifar100": 0.05, "mnist": 0.05, "fashion_mnist": 0.05},
    "alexnet_cifar": {"cifar10": 0.001, "cifar100": 0.01, "mnist": 0.1, "fashion_mnist": 0.1},
}
WEIGHT_DECAY = {"resnet18": 1e-4, "vgg19_bn": 5e-4, "alexnet_cifar": 1e-4}

# Final test accuracies of the paper (%), for the config docstrings and the analysis.
PAPER_TEST_ACCURACY = {
    "resnet18": {"cifar10": 91.0, "cifar100": 64.0, "mnist": 99.0, "fashion_mnist": 92.0},
    "vgg19_bn": {"cifar10": 90.5, "cifar100": 63.6, "mnist": 98.5, "fashion_mnist": 91.6},
    "alexnet_cifar": {"cifar10": 81.0, "cifar100": 53.0, "mnist": 98.5,
                      "fashion_mnist": 89.5},
}


def _check(value: str, choices: tuple[str, ...], what: str) -> None:
  if value not in choices:
    raise ValueError(f"unknown {what} {value!r}; valid choices: {', '.join(choices)}")


def optimizer_overrides(arch: str, dataset: str) -> dict[str, object]:
  """The overrides that switch a config to `arch` with its Table 1 lr and weight decay."""
  _check(arch, ARCHITECTURES, "architecture")
  _check(dataset, DATASETS, "dataset")
  return {"model.name": arch, "optim.learning_rate": LEARNING_RATES[arch][dataset],
          "optim.weight_decay": WEIGHT_DECAY[arch]}


def architecture_sweep(dataset: str) -> list[dict[str, object]]:
  """One run per architecture (each trains the five seeds together)."""
  return [optimizer_overrides(arch, dataset) for arch in ARCHITECTURES]


def set_input_pipeline(config: ml_collections.ConfigDict, dataset: str) -> None:
  """The code's preprocessing and augmentation of `dataset` (a tfds name)."""
  config.data.name = dataset
  config.augment.flip = True
  if dataset.startswith("cifar"):
    config.data.normalization = "fixed"
    config.data.mean, config.data.std = IMAGENET_MEAN, IMAGENET_STD
    config.augment.random_crop = True
    config.augment.crop_padding = 4
  else:
    config.data.resize = 32
    config.data.normalization = "none"


def get_config(arch: str, dataset: str) -> ml_collections.ConfigDict:
  """The paper's run of `arch` on `dataset`."""
  config = default.get_config()
  config.seeds = SEEDS
  set_input_pipeline(config, dataset)
  config.model = ml_collections.ConfigDict({"name": arch})

  config.optim.name = "sgd"
  config.optim.momentum = 0.9
  config.optim.nesterov = False
  config.optim.weight_decay_convention = "pytorch"
  config.optim.schedule = "constant"
  apply_overrides(config, optimizer_overrides(arch, dataset))

  config.train.num_epochs = 150
  config.train.batch_size = 128
  config.train.eval_batch_size = 1000
  config.train.shuffle = False

  config.metrics.names = ("relative_weight_change", "layer_rotation")
  config.metrics.rwc_variant = "l1_ratio"
  return config
