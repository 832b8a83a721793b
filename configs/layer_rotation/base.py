"""Shared setup of the layer-rotation study (Carbonnelle & De Vleeschouwer, arXiv 1806.01603).

Not run on its own: every task config in this folder imports it, sets its data, model,
schedule and stopping rules, and picks an optimizer variant with the helpers below. What all
tasks share (spec §1, "Data preprocessing"): batch 128; one scalar mean/std over the training
images (before the validation split); 10% of the training set held out by a random
permutation (not stratified); per-layer rotation logged once per epoch; the same
initialisation for every run of a task (the init is a function of the seed only, so runs
with the same seed start from the same weights).

Departures from the Keras original, by necessity:
- Epochs drop their last partial batch (Keras `fit` trains on it): 351 steps per CIFAR epoch
  instead of 352 without augmentation (with augmentation the original also used 351).
- The paper's "not working" rule checks 0-based epoch index k at epoch end; here
  `train.stop.fail_check_epoch` counts completed epochs, so it is k + 1.
- C100-resnet and tiny-CNN report test accuracy at the best-validation epoch (Keras early
  stopping); the trainer logs test accuracy at every epoch, and
  `python -m jaxgen.analysis.layer_rotation ... --test_at=best_validation` selects it.
"""

import ml_collections

from configs import default
from jaxgen.path_rules import KERNEL_RULE

# The best Layca setting of the §4 exploration: α = 0 and ρ(0) = 3⁻³.
RHO_BEST = 3.0**-3
# Adam-Layca and SGD_AMom-Layca were tuned to a smaller initial rate.
RHO_ADAM_LAYCA = 3.0**-5

# §4 grids: α at ρ(0) = 3⁻³, and ρ(0) = 3⁰ ... 3⁻⁷ at α = 0.
ALPHA_GRID = (-0.8, -0.6, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8)
RHO_EXPONENTS = tuple(range(0, -8, -1))


def get_config() -> ml_collections.ConfigDict:
  """The study's common fields; a task config sets data, model, schedule and optimizer."""
  config = default.get_config()
  config.data.validation_size = 0.1
  # The original drew the held-out 10% with np.random.permutation, not per class.
  config.data.stratified_validation = False
  config.data.split_seed = 1  # np.random.seed(1) in the original notebooks (any seed works).
  config.data.normalization = "global"

  config.train.batch_size = 128
  config.train.eval_batch_size = 500
  config.metrics.names = ("layer_rotation",)
  config.metrics.layer_rule = KERNEL_RULE
  config.logging.progress_bar = True
  return config


def set_step_schedule(config: ml_collections.ConfigDict, epochs: int,
                      milestones: tuple[int, ...], factor: float) -> None:
  """`lr_schedule(lr0, factor, epochs)` of the original: lr *= factor at each milestone.

  Args:
    config: the config to change in place.
    epochs: training epochs.
    milestones: 0-based epoch indices at which the rate is multiplied by `factor`.
    factor: the decay factor.
  """
  config.train.num_epochs = epochs
  config.optim.schedule = "step"
  config.optim.milestones = tuple(milestones)
  config.optim.decay_factor = factor


def set_stopping(config: ml_collections.ConfigDict, not_working: tuple[float, int] | None = None,
                 finished: float = 0.0, converged: int = 0) -> None:
  """The original `StoppingCriteria`, checked at each epoch end.

  Args:
    config: the config to change in place.
    not_working: (accuracy threshold, 0-based epoch index): stop if the running train accuracy
      of that epoch is <= the threshold.
    finished: stop once the train loss is <= this (0 = off).
    converged: stop after this many epochs of exactly unchanged train loss (0 = off).
  """
  stop = config.train.stop
  if not_working is not None:
    threshold, epoch_index = not_working
    stop.fail_below_accuracy = threshold
    stop.fail_check_epoch = epoch_index + 1  # Completed epochs, see the module docstring.
  stop.target_train_loss = finished
  stop.plateau_epochs = converged
  stop.plateau_min_delta = 0.0  # "Exactly unchanged".


def set_augmentation(config: ml_collections.ConfigDict) -> None:
  """Keras ImageDataGenerator(width/height_shift_range=0.125, fill_mode='reflect',
  horizontal_flip=True) on 32x32 images: shifts of up to ±4 px and random flips.

  Keras 'reflect' is scipy's half-sample reflection (d c b a | a b c d), numpy's 'symmetric'.
  A random crop of the 4-px padded image draws integer shifts where Keras drew continuous
  ones and rounded them when resampling.
  """
  config.augment.random_crop = True
  config.augment.crop_padding = 4
  config.augment.pad_mode = "symmetric"
  config.augment.flip = True


def set_layca(config: ml_collections.ConfigDict, base: str = "sgd",
              rho: float = RHO_BEST) -> None:
  """`base` + Layca at initial rate ρ(0) = `rho`, α = 0, non-kernels frozen (the original).

  Args:
    config: the config to change in place.
    base: "sgd" (μ = 0), "sgd_amom", "adam", "rmsprop" or "adagrad".
    rho: ρ(0), decayed by the task's schedule.
  """
  optim = config.optim
  optim.name = "layca"
  optim.base = base
  optim.learning_rate = rho
  optim.momentum = 0.0  # Keras SGD default; sgd_amom then uses its own μ = 0.9.
  optim.nesterov = False
  optim.alpha = 0.0
  optim.train_non_layers = False
  optim.weight_decay = 0.0


def set_keras(config: ml_collections.ConfigDict, base: str, lr: float, l2: float = 0.0,
              momentum: float = 0.0, nesterov: bool = False) -> None:
  """A plain (non-Layca) Keras 2.1 optimizer, optionally with Keras `l2(λ)` on the kernels.

  Args:
    config: the config to change in place.
    base: "sgd", "adam", "rmsprop" or "adagrad" (Keras semantics, eps 1e-7).
    lr: the initial learning rate, decayed by the task's schedule.
    l2: Keras's λ of `kernel_regularizer=l2(λ)`; its gradient 2λw is added before the
      optimizer (`weight_decay_convention="keras"`).
    momentum: SGD momentum (the paper's SGD has none, except C100-WRN's SGD+L2).
    nesterov: Nesterov momentum.
  """
  optim = config.optim
  optim.name = "keras"
  optim.base = base
  optim.learning_rate = lr
  optim.momentum = momentum
  optim.nesterov = nesterov
  optim.alpha = 0.0
  optim.weight_decay = l2
  optim.weight_decay_convention = "keras"
  optim.weight_decay_rule = KERNEL_RULE


def set_sgd_normalized(config: ml_collections.ConfigDict, lr: float) -> None:
  """The SGD_normalized baseline: every tensor moves by lr per step, no projection."""
  config.optim.name = "sgd_normalized"
  config.optim.learning_rate = lr
  config.optim.weight_decay = 0.0


def alpha_sweep() -> list[dict]:
  """The §4 α grid at ρ(0) = 3⁻³: 13 runs (both fields set, so names are explicit)."""
  return [{"optim.alpha": alpha, "optim.learning_rate": RHO_BEST} for alpha in ALPHA_GRID]


def rho_sweep() -> list[dict]:
  """The §4 ρ(0) grid 3⁰ ... 3⁻⁷ at α = 0: 8 runs."""
  return [{"optim.alpha": 0.0, "optim.learning_rate": 3.0**k} for k in RHO_EXPONENTS]


def exploration_sweep() -> list[dict]:
  """The α grid and the ρ(0) grid of a task, without repeating their shared run (20 runs)."""
  runs = alpha_sweep()
  for overrides in rho_sweep():
    if overrides not in runs:
      runs.append(overrides)
  return runs


def pick(variants: dict, variant: str, config: ml_collections.ConfigDict,
         task: str) -> ml_collections.ConfigDict:
  """Applies `variants[variant](config)`; an unknown variant fails with the choices."""
  if variant not in variants:
    raise ValueError(f"{task}: unknown variant {variant!r}; choose one of "
                     f"{', '.join(variants)} (e.g. --config=configs/layer_rotation/"
                     f"{task}.py:{next(iter(variants))})")
  variants[variant](config)
  return config
