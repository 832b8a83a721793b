"""C10-CNN2: the "torch blog" VGG (13 conv + 2 dense) on CIFAR-10 with augmentation.

  python -m jaxgen.main --config=configs/layer_rotation/c10_cnn2.py:sgd_layca \
      --workdir=/tmp/lr/c10_cnn2/sgd_layca
  python -m launch.local --config=configs/layer_rotation/c10_cnn2.py \
      --workdir=/tmp/lr/c10_cnn2/exploration              # the α and ρ(0) grids (20 runs)
  python -m jaxgen.analysis.layer_rotation sweep /tmp/lr/c10_cnn2/exploration

Needs tfds cifar10 prepared. Augmentation: shifts of up to ±4 px (reflect fill) and
horizontal flips. Layca and SGD: 250 epochs, lr x0.2 at epoch indices 100/170/220. The
tuned "+L2" baselines (SGD+L2, RMSprop+L2) use their own schedule: 250 epochs, lr x0.5 every
25 epochs. No stopping rule.
Runtime: not measured here (no CIFAR on this machine); about a day per run on a 2-core CPU.

Variants (`:name`) and the paper's test accuracy (Δη = difference to SGD-Layca, % points):

| variant        | optimizer                                        | reported          |
|----------------|--------------------------------------------------|-------------------|
| sgd_layca      | SGD-Layca, ρ(0) = 3⁻³, α = 0 (default)           | 93.4%             |
| sgd            | SGD, lr 3⁻¹, no momentum                          | 91.7% (Δη −1.7)   |
| sgd_l2         | SGD + Keras l2(5e-4), lr 0.5, x0.5 / 25 epochs    | 93.28% (Δη −0.12) |
| rmsprop_l2     | RMSprop + l2(5e-4), lr 3e-4, x0.5 / 25 epochs     | 91.85% (Δη −1.55) |
| rmsprop_layca  | RMSprop-Layca, ρ(0) = 3⁻³                         | 93.47% (Δη +0.07) |

Exploration (Fig. 1, SGD-Layca): α = −0.6: Δη −1.24; α = +0.6: −6.61; ρ(0) = 3⁻⁵: −1.85;
ρ(0) = 3⁻⁴: −0.42. Vanilla SGD over lr 3⁻⁴...3⁰: Δη −6.56, −3.72, −2.26, −1.7, −16.95
(train accuracy 0.837 at lr 1).
"""

from collections.abc import Callable

import ml_collections

from configs.layer_rotation import base

TASK = "c10_cnn2"
L2 = 5e-4


def get_sweep() -> list[dict]:
  """The §4 exploration of SGD-Layca: 13 values of α and 8 of ρ(0) (20 distinct runs)."""
  return base.exploration_sweep()


def _tuned_l2(config: ml_collections.ConfigDict, optimizer: str, lr: float) -> None:
  base.set_keras(config, optimizer, lr, l2=L2)
  base.set_step_schedule(config, epochs=250, milestones=tuple(range(25, 250, 25)), factor=0.5)


# Variant name (the `:arg` of --config) -> how it sets the optimizer (and its schedule).
VARIANTS: dict[str, Callable[[ml_collections.ConfigDict], None]] = {
    "sgd_layca": lambda c: base.set_layca(c, "sgd"),
    "sgd": lambda c: base.set_keras(c, "sgd", 3.0**-1),
    "sgd_l2": lambda c: _tuned_l2(c, "sgd", 0.5),
    "rmsprop_l2": lambda c: _tuned_l2(c, "rmsprop", 3e-4),
    "rmsprop_layca": lambda c: base.set_layca(c, "rmsprop"),
}


def get_config(variant: str = "sgd_layca") -> ml_collections.ConfigDict:
  config = base.get_config()
  config.data.name = "cifar10"
  config.model = ml_collections.ConfigDict({"name": "c10_cnn2"})
  base.set_augmentation(config)
  base.set_step_schedule(config, epochs=250, milestones=(100, 170, 220), factor=0.2)
  return base.pick(VARIANTS, variant, config, TASK)
