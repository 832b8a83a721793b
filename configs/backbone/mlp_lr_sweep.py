"""Learning-rate x width sweep of an MLP on the embedded MNIST digits (a sweep example).

  python -m launch.local --config=configs/backbone/mlp_lr_sweep.py --workdir=/tmp/mlp_sweep \
      --seeds=0,1 --parallel=2

Each of the 6 settings trains 2 seeds together; about 20 s per run on a 2-core CPU. Expected
(measured with seeds 0 and 1; final test accuracy, seed mean, widths 128 / 512): lr 0.01 is
the best, 92.8% / 92.9%; lr 0.1 91.7% / 92.5%; lr 0.3 is too high for this MLP: accuracy
falls as it trains, to 42% / 63% with a spread of 3-12 points between the seeds. Layer
rotation grows with the learning rate (last layer after 5 epochs: 0.08-0.15 at lr 0.01,
0.42-0.54 at 0.1, 0.83-0.95 at 0.3).
"""

import ml_collections

from configs import default


def get_config() -> ml_collections.ConfigDict:
  config = default.get_config()
  config.model = ml_collections.ConfigDict(
      {"name": "mlp", "widths": (256,), "batch_norm": False, "dropout_rate": 0.0})
  config.train.num_epochs = 5
  return config


def get_sweep() -> list[dict]:
  return [{"optim.learning_rate": lr, "model.widths": widths}
          for lr in (0.01, 0.1, 0.3) for widths in ((128,), (512,))]
