"""tiny-CNN: the 11-layer VGG-style CNN on Tiny ImageNet (64x64, 200 classes), no augmentation.

  python -m jaxgen.main --config=configs/layer_rotation/tiny_cnn.py:sgd_layca \
      --workdir=/tmp/lr/tiny_cnn/sgd_layca \
      --config.data.data_dir=/path/to/tiny-imagenet-200
  TINY_IMAGENET_DIR=/path/to/tiny-imagenet-200 python -m launch.local \
      --config=configs/layer_rotation/tiny_cnn.py --workdir=/tmp/lr/tiny_cnn/exploration
  python -m jaxgen.analysis.layer_rotation sweep /tmp/lr/tiny_cnn/exploration \
      --test_at=best_validation

Needs a local `tiny-imagenet-200` folder: data.data_dir, which defaults to $TINY_IMAGENET_DIR
(launch.local passes no other overrides than the sweep's). Its val split is the test split.
80 epochs, lr x0.2 at epoch index 70 (SGD+L2: 100 epochs, x0.2 at 70/90/97); stops if train
accuracy is <= 0.2 after 11 epochs, at train loss <= 1e-3, or after 3 epochs of unchanged
loss. Test accuracy at the best-validation epoch (early stopping). Top-5 accuracy, which the
original also logged, is logged as "top5_accuracy" on the validation and test splits.
Runtime: not measured here (no Tiny ImageNet on this machine); many hours on a 2-core CPU.

Variants (`:name`) and the paper's test accuracy (Δη = difference to SGD-Layca, % points):

| variant        | optimizer                                  | reported           |
|----------------|--------------------------------------------|--------------------|
| sgd_layca      | SGD-Layca, ρ(0) = 3⁻³, α = 0 (default)     | 50.89%             |
| sgd            | SGD, lr 3⁻¹, no momentum                    | 42.26% (Δη −8.63)  |
| sgd_l2         | SGD + Keras l2(1e-3), lr 3⁻¹, 100 epochs    | 50.04% (Δη −0.85)  |
| adagrad        | Adagrad, lr 3⁻⁴                             | 37.72% (Δη −13.17) |
| adagrad_layca  | Adagrad-Layca, ρ(0) = 3⁻³                   | 50.55% (Δη −0.34)  |

Exploration (Fig. 1, SGD-Layca): α = −0.6: Δη −10.48; α = +0.6: −22.68; ρ(0) = 3⁻⁵: −15.21;
ρ(0) = 3⁻⁴: −10.70. Vanilla SGD over lr 3⁻⁴...3⁰: Δη −21.48, −15.5, −10.73, −8.63, −15.22.
"""

import os
from collections.abc import Callable

import ml_collections

from configs.layer_rotation import base

TASK = "tiny_cnn"


def get_sweep() -> list[dict]:
  """The §4 exploration of SGD-Layca: 13 values of α and 8 of ρ(0) (20 distinct runs)."""
  return base.exploration_sweep()


def _sgd_l2(config: ml_collections.ConfigDict) -> None:
  base.set_keras(config, "sgd", 3.0**-1, l2=1e-3)
  base.set_step_schedule(config, epochs=100, milestones=(70, 90, 97), factor=0.2)


# Variant name (the `:arg` of --config) -> how it sets the optimizer (and its schedule).
VARIANTS: dict[str, Callable[[ml_collections.ConfigDict], None]] = {
    "sgd_layca": lambda c: base.set_layca(c, "sgd"),
    "sgd": lambda c: base.set_keras(c, "sgd", 3.0**-1),
    "sgd_l2": _sgd_l2,
    "adagrad": lambda c: base.set_keras(c, "adagrad", 3.0**-4),
    "adagrad_layca": lambda c: base.set_layca(c, "adagrad"),
}


def get_config(variant: str = "sgd_layca") -> ml_collections.ConfigDict:
  config = base.get_config()
  config.data.name = "tiny_imagenet"
  config.data.data_dir = os.environ.get("TINY_IMAGENET_DIR", "")  # tiny-imagenet-200 folder.
  config.model = ml_collections.ConfigDict({"name": "tiny_cnn"})
  config.train.eval_top_k = (5,)
  base.set_step_schedule(config, epochs=80, milestones=(70,), factor=0.2)
  base.set_stopping(config, not_working=(0.2, 10), finished=1e-3, converged=3)
  return base.pick(VARIANTS, variant, config, TASK)
