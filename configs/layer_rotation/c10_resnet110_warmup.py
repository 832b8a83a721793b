"""Warm-up experiment: ResNet-110 on CIFAR-10 with augmentation, SGD+L2 at lr 3⁻¹.

  python -m launch.local --config=configs/layer_rotation/c10_resnet110_warmup.py \
      --workdir=/tmp/lr/c10_resnet110_warmup               # all five runs below
  python -m jaxgen.main --config=configs/layer_rotation/c10_resnet110_warmup.py:sgd_l2_warmup5 \
      --workdir=/tmp/lr/c10_resnet110_warmup/warmup5       # one of them
  python -m jaxgen.analysis.layer_rotation curves /tmp/lr/c10_resnet110_warmup

Needs tfds cifar10 prepared. 200 epochs, lr x0.2 at epoch indices 60/120/160; a run stops if
train accuracy is <= 0.2 after 61 epochs. Warm-up is the original's 'continuous' mode: over
the first W epochs the rate ramps linearly, per step, from lr/10 to lr.
Runtime: not measured here (no CIFAR on this machine); a GPU is advisable.

Variants (`:name`) and the paper's test accuracy:

| variant          | optimizer                                   | reported |
|------------------|---------------------------------------------|----------|
| sgd_l2           | SGD + Keras l2(1e-3), lr 3⁻¹, no warm-up      | 83.58%   |
| sgd_l2_warmup5   | same, 5-epoch warm-up                         | 92.43%   |
| sgd_l2_warmup10  | same, 10-epoch warm-up                        | 92.09%   |
| sgd_l2_warmup15  | same, 15-epoch warm-up                        | 92.30%   |
| sgd_layca        | SGD-Layca, ρ(0) = 3⁻³, no warm-up             | 92.09%   |
| sgd              | SGD, lr 3⁻¹ (tuned setting; no number in spec) | –        |

Without warm-up, train accuracy stays near 0.1 for the first ~25 epochs and the layer-rotation
curves jump abruptly at the start; with warm-up (or Layca) they rise smoothly.
"""

from collections.abc import Callable

import ml_collections

from configs.layer_rotation import base

TASK = "c10_resnet110_warmup"
WARMUP_EPOCHS = (0, 5, 10, 15)


def get_sweep() -> list[dict]:
  """SGD+L2 with 0/5/10/15 warm-up epochs, and SGD-Layca without warm-up: 5 runs."""
  runs: list[dict] = [{"optim.warmup_epochs": epochs} for epochs in WARMUP_EPOCHS]
  layca = base.get_config()
  base.set_layca(layca)
  # The fields in which SGD-Layca differs from the default variant (SGD+L2).
  runs.append({"optim.name": layca.optim.name, "optim.learning_rate": layca.optim.learning_rate,
               "optim.weight_decay": layca.optim.weight_decay})
  return runs


def _sgd_l2(config: ml_collections.ConfigDict, warmup_epochs: int) -> None:
  base.set_keras(config, "sgd", 3.0**-1, l2=1e-3)
  config.optim.warmup_epochs = warmup_epochs
  config.optim.warmup_start_factor = 0.1


# Variant name (the `:arg` of --config) -> how it sets the optimizer (and its schedule).
VARIANTS: dict[str, Callable[[ml_collections.ConfigDict], None]] = {
    "sgd_l2": lambda c: _sgd_l2(c, 0),
    **{f"sgd_l2_warmup{w}": (lambda c, w=w: _sgd_l2(c, w)) for w in WARMUP_EPOCHS[1:]},
    "sgd_layca": lambda c: base.set_layca(c, "sgd"),
    "sgd": lambda c: base.set_keras(c, "sgd", 3.0**-1),
}


def get_config(variant: str = "sgd_l2") -> ml_collections.ConfigDict:
  config = base.get_config()
  config.data.name = "cifar10"
  config.model = ml_collections.ConfigDict({"name": "resnet110"})
  base.set_augmentation(config)
  base.set_step_schedule(config, epochs=200, milestones=(60, 120, 160), factor=0.2)
  base.set_stopping(config, not_working=(0.2, 60))
  return base.pick(VARIANTS, variant, config, TASK)
