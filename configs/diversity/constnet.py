"""ConstNet (WRN-16-10 with one conv per block, zero/averaging init) on CIFAR-10.

  python -m jaxgen.main --config=configs/diversity/constnet.py:dropout --workdir=/tmp/div/drop
  python -m launch.local --config=configs/diversity/constnet.py --workdir=/tmp/div/constnet

Variants (`:name`, and `get_sweep()` runs all four), 300 epochs as the code's README:
- deterministic: ConstNet with no symmetry breaker. Every channel of a layer stays identical
  (all weight correlations 1): the negative control, expected far below VarNet.
- dropout: dropout 0.01 in every residual branch (the code's `--droprate 0.01`).
- noise: i.i.d. gradient noise of std 1e-6 per entry, emulating the non-deterministic cuDNN
  reductions that break the symmetry on GPUs in PyTorch (an emulation, see `base.py`).
- varnet: the same architecture with a random (He, fan-out) init: the reference.
Expected (spec; the paper's numbers were not readable): dropout and noise end close to VarNet,
their correlations falling towards VarNet's levels over training.
Runtime: not measured here (no CIFAR-10 or GPU on the machine this was written on).
"""

import ml_collections

from configs.diversity import base
from jaxgen.config import apply_overrides

EPOCHS = 300
GRADIENT_NOISE = 1e-6
VARIANTS = {
    "deterministic": {"model.name": "constnet", "model.droprate": 0.0,
                      "optim.gradient_noise": 0.0},
    "dropout": {"model.name": "constnet", "model.droprate": 0.01, "optim.gradient_noise": 0.0},
    "noise": {"model.name": "constnet", "model.droprate": 0.0,
              "optim.gradient_noise": GRADIENT_NOISE},
    "varnet": {"model.name": "varnet", "model.droprate": 0.0, "optim.gradient_noise": 0.0},
}


def get_sweep() -> list[dict]:
  """The four variants."""
  return list(VARIANTS.values())


def get_config(variant: str = "dropout") -> ml_collections.ConfigDict:
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r}; valid choices: {', '.join(VARIANTS)}")
  model = ml_collections.ConfigDict({"name": "constnet", "depth": 16, "widen_factor": 10,
                                     "droprate": 0.0})
  config = base.get_config(model, EPOCHS)
  apply_overrides(config, VARIANTS[variant])
  return config
