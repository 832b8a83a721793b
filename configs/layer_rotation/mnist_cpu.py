"""CPU-sized check of the layer-rotation study's central claim, on the embedded MNIST digits.

  python -m launch.local --config=configs/layer_rotation/mnist_cpu.py \
      --workdir=/tmp/lr/mnist_cpu --seeds=0,1
  python -m jaxgen.analysis.layer_rotation curves /tmp/lr/mnist_cpu

SGD-Layca (μ = 0, α = 0) at a high and a low rate, everything else equal: the §6 MLP with a
256-unit hidden layer (`mnist_mlp_bn`, BN, biases and γ/β frozen), 4,000 embedded training
digits, batch 25 (160 steps per epoch), 60 epochs, rate x0.2 at epoch indices 40, 50 and 55,
global normalisation, no validation split; tested on the 1,000 held-out digits.
`tests/test_layer_rotation_study.py` runs both rates and checks the claim.

Measured (seeds vmapped two per run, about 60 s per run on a 2-core CPU). The sweep runs the
two rates in bold; the others are the same config at other rates. Train accuracy is the
running accuracy of the last epoch:

| rate        | seeds | train          | test           | rotation layer 1 | rotation layer 2 |
|-------------|-------|----------------|----------------|------------------|------------------|
| 3⁻¹         | 0, 1  | 99.67%, 99.37% | 94.7%, 94.5%   | 1.004, 0.999     | 1.032, 1.015     |
| **3⁻¹·⁵**   | 0, 1  | 99.77%, 99.62% | 94.6%, 94.5%   | 0.998, 0.999     | 0.957, 0.985     |
| **3⁻¹·⁵**   | 2, 3  | 99.73%, 99.65% | 94.2%, 94.4%   | 1.000, 0.999     | 1.021, 0.984     |
| 3⁻²         | 0, 1  | 99.85%, 99.67% | 94.4%, 94.2%   | 0.992, 0.989     | 0.612, 0.597     |
| 3⁻³         | 0, 1  | 100%, 99.90%   | 94.4%, 94.1%   | 0.959, 0.958     | 0.346, 0.342     |
| 3⁻⁴         | 0, 1  | 99.98%, 99.95% | 93.6%, 93.2%   | 0.451, 0.452     | 0.264, 0.260     |
| 3⁻⁴·⁵       | 0, 1  | 99.98%, 99.92% | 93.6%, 93.2%   | 0.244, 0.246     | 0.232, 0.232     |
| **3⁻⁵**     | 0, 1  | 99.98%, 99.90% | 93.9%, 93.6%   | 0.141, 0.142     | 0.195, 0.199     |
| **3⁻⁵**     | 2, 3  | 99.95%, 99.92% | 93.2%, 93.6%   | 0.142, 0.141     | 0.208, 0.196     |

The claim at this scale: at the high rate both layers rotate to a cosine distance of about 1
(their final kernels are orthogonal to their initial ones) and the network generalises
better, by 0.8-0.9 points on every seed pair, than at the low rate (3⁻⁵, the lowest ρ(0) of
the paper's Fig. 1), where neither layer passes 0.21; both fit the training set. Test
accuracy rises with the rate from 3⁻⁴ up; from 3⁻⁴ down it is flat (the first layer hardly
moves and the network acts as random features with a trained readout).

Why batch 25: the 10-unit output layer co-adapts with the hidden layer. Each hidden unit
learns features for the classes its initial output weights favour, which pins the readout
near its initialisation (with the hidden layer frozen, the same Layca run rotates the readout
to 1.03). Small, noisy batches unpin it: at 3⁻¹·⁵ the readout reaches 0.38 at batch 1000
(100 epochs), 0.51 at batch 100, 0.71 at batch 50 and 0.96-1.02 at batch 25 (seed 0).
Deeper BN-MLPs (3 or 7 hidden layers of 256) rotate every hidden layer above 0.9 already at
batch 100 but generalise no better at the high rate than at the low one on these digits.
"""

import ml_collections

from configs.layer_rotation import base

HIGH_RATE = 3.0**-1.5
LOW_RATE = 3.0**-5


def get_sweep() -> list[dict]:
  """The high and the low Layca rate."""
  return [{"optim.learning_rate": HIGH_RATE}, {"optim.learning_rate": LOW_RATE}]


def get_config() -> ml_collections.ConfigDict:
  config = base.get_config()
  config.data.name = "mnist_embedded"
  config.data.validation_size = 0.0
  config.model = ml_collections.ConfigDict({"name": "mnist_mlp_bn", "hidden": 256})
  base.set_layca(config, "sgd", HIGH_RATE)
  base.set_step_schedule(config, epochs=60, milestones=(40, 50, 55), factor=0.2)
  config.train.batch_size = 25
  config.train.eval_batch_size = 1000
  config.checkpoint.every_epochs = 0  # Only step 0 and the last step.
  config.logging.tensorboard = False
  return config
