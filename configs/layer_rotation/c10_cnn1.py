"""C10-CNN1: the 25-layer VGG-style CNN on CIFAR-10, no augmentation (layer-rotation study).

  python -m jaxgen.main --config=configs/layer_rotation/c10_cnn1.py:sgd_layca \
      --workdir=/tmp/lr/c10_cnn1/sgd_layca
  python -m launch.local --config=configs/layer_rotation/c10_cnn1.py \
      --workdir=/tmp/lr/c10_cnn1/exploration              # the α and ρ(0) grids (20 runs)
  python -m jaxgen.analysis.layer_rotation sweep /tmp/lr/c10_cnn1/exploration

Needs tfds cifar10 prepared (`python -m jaxgen.data.prepare cifar10`). 100 epochs, lr x0.2
at epoch indices 80/90/97; a run stops if train accuracy is <= 0.2 after 8 epochs ("not
working"), at train loss <= 1e-4 ("finished"), or after 3 epochs of unchanged loss
("converged").
Runtime: not measured here (no CIFAR on this machine); a few hours per run on a 2-core CPU.

Variants (`:name`) and the paper's test accuracy (Δη = difference to SGD-Layca, % points):

| variant        | optimizer                                   | reported          |
|----------------|---------------------------------------------|-------------------|
| sgd_layca      | SGD-Layca, ρ(0) = 3⁻³, α = 0 (default)      | 88.45%            |
| sgd            | SGD, lr 3⁻¹, no momentum                     | 79.68% (Δη −8.77) |
| sgd_l2         | SGD + Keras l2(1e-3), lr 3⁻¹                 | 88.15% (Δη −0.3)  |
| rmsprop        | RMSprop, lr 3⁻⁶                              | 84.87% (Δη −3.58) |
| rmsprop_layca  | RMSprop-Layca, ρ(0) = 3⁻³                    | 88.25% (Δη −0.2)  |
| sgd_normalized | SGD_normalized, lr 3⁻² (no number in spec)   | –                 |

Exploration (Fig. 1, SGD-Layca): α = −0.6: Δη −5.34; α = +0.6: −19.78; ρ(0) = 3⁻⁵: −7.44;
ρ(0) = 3⁻⁴: −2.41; train accuracy ≥ 0.99 in all. Vanilla SGD over lr 3⁻⁴...3⁰: Δη −19.92,
−14.73, −9.73, −8.77, −9.06. Best Layca and SGD+L2: every layer's rotation reaches ≈ 1 early.
"""

from collections.abc import Callable

import ml_collections

from configs.layer_rotation import base

TASK = "c10_cnn1"


def get_sweep() -> list[dict]:
  """The §4 exploration of SGD-Layca: 13 values of α and 8 of ρ(0) (20 distinct runs)."""
  return base.exploration_sweep()


# Variant name (the `:arg` of --config) -> how it sets the optimizer (and its schedule).
VARIANTS: dict[str, Callable[[ml_collections.ConfigDict], None]] = {
    "sgd_layca": lambda c: base.set_layca(c, "sgd"),
    "sgd": lambda c: base.set_keras(c, "sgd", 3.0**-1),
    "sgd_l2": lambda c: base.set_keras(c, "sgd", 3.0**-1, l2=1e-3),
    "rmsprop": lambda c: base.set_keras(c, "rmsprop", 3.0**-6),
    "rmsprop_layca": lambda c: base.set_layca(c, "rmsprop"),
    "sgd_normalized": lambda c: base.set_sgd_normalized(c, 3.0**-2),
}


def get_config(variant: str = "sgd_layca") -> ml_collections.ConfigDict:
  config = base.get_config()
  config.data.name = "cifar10"
  config.model = ml_collections.ConfigDict({"name": "c10_cnn1"})
  base.set_step_schedule(config, epochs=100, milestones=(80, 90, 97), factor=0.2)
  base.set_stopping(config, not_working=(0.2, 7), finished=1e-4, converged=3)
  return base.pick(VARIANTS, variant, config, TASK)
