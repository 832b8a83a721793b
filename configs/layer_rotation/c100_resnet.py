"""C100-resnet: ResNet-32 (Keras resnet_v1) on CIFAR-100, no augmentation (layer rotation).

  python -m jaxgen.main --config=configs/layer_rotation/c100_resnet.py:sgd_layca \
      --workdir=/tmp/lr/c100_resnet/sgd_layca
  python -m launch.local --config=configs/layer_rotation/c100_resnet.py \
      --workdir=/tmp/lr/c100_resnet/exploration           # the α and ρ(0) grids (20 runs)
  python -m jaxgen.analysis.layer_rotation sweep /tmp/lr/c100_resnet/exploration \
      --test_at=best_validation

Needs tfds cifar100 prepared. 100 epochs, lr x0.1 at epoch indices 70/90/97; stops if train
accuracy is <= 0.1 after 8 epochs, at train loss <= 1e-3, or after 3 epochs of unchanged loss.
The paper reports the test accuracy of the best-validation epoch (early stopping), hence
`--test_at=best_validation` in the analysis.
Runtime: not measured here (no CIFAR on this machine); hours per run on a 2-core CPU.

Variants (`:name`) and the paper's test accuracy (Δη = difference to SGD-Layca, % points):

| variant        | optimizer                                 | reported           |
|----------------|-------------------------------------------|--------------------|
| sgd_layca      | SGD-Layca, ρ(0) = 3⁻³, α = 0 (default)    | 59.81%             |
| sgd            | SGD, lr 3⁻¹, no momentum                   | 45.53% (Δη −14.28) |
| sgd_l2         | SGD + Keras l2(1e-3), lr 3⁻¹               | 60.11% (Δη +0.3)   |
| adam           | Adam, lr 3⁻⁵                               | 47.82% (Δη −11.99) |
| adam_layca     | Adam-Layca, ρ(0) = 3⁻⁵                     | 58.16% (Δη −1.65)  |
| sgd_normalized | SGD_normalized, lr 3⁻² (no number in spec) | –                  |

Exploration (Fig. 1, SGD-Layca): α = −0.6: Δη −15.55 (train accuracy only 0.82);
α = +0.6: −30.18; ρ(0) = 3⁻⁵: −24.42; ρ(0) = 3⁻⁴: −13.03. Vanilla SGD over lr 3⁻⁴...3⁰:
Δη −25.13 (train 0.878), −21.95, −18.54, −14.28, −18.0.
"""

from collections.abc import Callable

import ml_collections

from configs.layer_rotation import base

TASK = "c100_resnet"


def get_sweep() -> list[dict]:
  """The §4 exploration of SGD-Layca: 13 values of α and 8 of ρ(0) (20 distinct runs)."""
  return base.exploration_sweep()


# Variant name (the `:arg` of --config) -> how it sets the optimizer (and its schedule).
VARIANTS: dict[str, Callable[[ml_collections.ConfigDict], None]] = {
    "sgd_layca": lambda c: base.set_layca(c, "sgd"),
    "sgd": lambda c: base.set_keras(c, "sgd", 3.0**-1),
    "sgd_l2": lambda c: base.set_keras(c, "sgd", 3.0**-1, l2=1e-3),
    "adam": lambda c: base.set_keras(c, "adam", 3.0**-5),
    "adam_layca": lambda c: base.set_layca(c, "adam", base.RHO_ADAM_LAYCA),
    "sgd_normalized": lambda c: base.set_sgd_normalized(c, 3.0**-2),
}


def get_config(variant: str = "sgd_layca") -> ml_collections.ConfigDict:
  config = base.get_config()
  config.data.name = "cifar100"
  config.model = ml_collections.ConfigDict({"name": "resnet32"})
  base.set_step_schedule(config, epochs=100, milestones=(70, 90, 97), factor=0.1)
  base.set_stopping(config, not_working=(0.1, 7), finished=1e-3, converged=3)
  return base.pick(VARIANTS, variant, config, TASK)
