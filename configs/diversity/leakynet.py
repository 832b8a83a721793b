"""LeakyNet (plain 16-layer net, LeakyReLU 0.01, per-layer init codes) on CIFAR-10.

  python -m jaxgen.main --config=configs/diversity/leakynet.py:1_iiii_1111_iiii \
      --workdir=/tmp/div/leaky
  python -m launch.local --config=configs/diversity/leakynet.py --workdir=/tmp/div/leaky

The argument is the init string of the code's `lrnet_experiment.sh` (default all random,
h_hhhh_hhhh_hhhh): one character per conv, conv1 first ('h' random, 'i' identity, '1'
averaging, 'k'/'n' their noisy versions; see `jaxgen/models/diversity.py`). `get_sweep()` runs
the script's seven strings. All: depth 16, widen factor 10, BN after odd blocks, lr 0.03, 200
epochs (drops at 1-based epochs 60, 120, 160).
Expected (spec, numbers unverified): the more averaging ('1') layers, the harder the symmetry
is to break and the lower the accuracy.
Runtime: not measured here (no CIFAR-10 or GPU on the machine this was written on).
"""

import ml_collections

from configs.diversity import base
from jaxgen.models.diversity_inits import LEAKYNET_EXPERIMENTS

EPOCHS = 200


def get_sweep() -> list[dict]:
  """The seven init strings of the code's experiment script."""
  return [{"model.init": init} for init in LEAKYNET_EXPERIMENTS]


def get_config(init: str = "h_hhhh_hhhh_hhhh") -> ml_collections.ConfigDict:
  model = ml_collections.ConfigDict({"name": "leakynet", "depth": 16, "widen_factor": 10,
                                     "lrelu": 0.01, "init": init, "batch_norm": True})
  return base.get_config(model, EPOCHS)
