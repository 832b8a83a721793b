"""The config schema: every field a run has, with its default and a comment on what it does.

`get_config()` is the embedded default run (a small CNN on 5,000 real MNIST digits); every
study config in `configs/` builds on it and overrides what differs. A saved run whose
config.json lacks a field (written before the field existed) is read with the field's value
here (`jaxgen.config.read_run_config`), so a new field's default must reproduce the behaviour
from before it existed (one exception, `data.corruption.validation_split`: the earlier
behaviour, a corrupted validation split, was a bug that no shipped config reached).

The settings of each optimizer, schedule, metric and dataset are not listed here: they are the
typed keyword arguments of its builder, with their defaults beside it (`jaxgen.optim`,
`jaxgen.metrics`, `jaxgen.data.sources`), and `get_config()` adds them to their section.
"""

import ml_collections


def _add_builder_defaults(section: ml_collections.ConfigDict, *registries) -> None:
  """Adds to `section` the default of every builder argument of `registries`' entries."""
  for registry in registries:
    for key, value in registry.defaults().items():
      if key in section and section[key] != value:
        raise ValueError(f"the schema gives {key} the default {section[key]!r}, "
                         f"but the {registry.kind} builders give {value!r}")
      if key not in section:
        section[key] = value


def get_config() -> ml_collections.ConfigDict:
  """The default run; every field of every config, with its default."""
  # Not at import: these modules themselves import ConfigError from this package.
  from jaxgen.data.sources import DATASETS
  from jaxgen.metrics import METRICS
  from jaxgen.optim import OPTIMIZERS, SCHEDULES
  from jaxgen.path_rules import KERNEL_RULE

  config = ml_collections.ConfigDict()
  # Seeds trained together in one program (`sharding.seed_strategy`); each has its own init,
  # data order, dropout and augmentation randomness. Under `map` a seed's numbers do not
  # depend on the others; under `vmap` a seed trained alone differs in the last bits from the
  # same seed trained with others (batched backward passes sum in another order): compare
  # seeds from runs of one form. See the README's "Design in brief".
  config.seeds = (0,)

  config.data = ml_collections.ConfigDict()
  config.data.name = "mnist_embedded"  # See `python -m jaxgen.main --list`.
  config.data.train_per_class = 0  # Keep this many training images per class (0 = all).
  config.data.validation_size = 0.0  # Held out of train: a fraction in (0, 1) or a count.
  config.data.stratified_validation = True  # Same number of validation images per class.
  config.data.split_seed = 0  # Seed of the validation split and per-class subsampling.
  config.data.normalization = "global"  # none | global | per_channel | per_image | fixed.
  config.data.mean = ()  # fixed: subtract these (one value, or one per channel) ...
  config.data.std = ()  # ... and divide by these.
  config.data.resize = 0  # Resize images to resize x resize (bilinear) at load time; 0 = no.
  config.data.crop_size = 0  # Central crop (random with augment.random_crop); 0 = none.
  # Randomization tests (Zhang et al. 2017), drawn once from `seed` before training.
  config.data.corruption = ml_collections.ConfigDict()
  config.data.corruption.kind = "none"  # none | partial_labels | random_labels |
  #   shuffled_pixels | random_pixels | gaussian | class_subset.
  config.data.corruption.level = 1.0  # partial_labels: probability a label is redrawn.
  config.data.corruption.label_noise = "uniform"  # uniform (may keep label) | always_different.
  config.data.corruption.exact_fraction = False  # Exactly round(level*N) noisy labels.
  config.data.corruption.num_kept_classes = 0  # class_subset: how many classes to keep.
  config.data.corruption.gaussian_stats = "per_channel"  # gaussian: moments matched per ...
  config.data.corruption.test_split = "spec"  # spec | corrupt | clean (see data.pipeline).
  config.data.corruption.seed = 0
  # like_test: the validation split is held out of the clean training set and treated as the
  # test split is (label noise stays off it); like_train: taken from the corrupted training set.
  config.data.corruption.validation_split = "like_test"
  # Each dataset source's settings (data_dir: the tfds data_dir or a dataset folder; "" =
  # tfds's default ~/tensorflow_datasets).
  _add_builder_defaults(config.data, DATASETS)

  config.augment = ml_collections.ConfigDict()
  config.augment.random_crop = False  # Random crop_size crops of the padded image.
  config.augment.crop_padding = 0  # Pixels of padding before random cropping.
  config.augment.pad_mode = "constant"  # jnp.pad mode: constant (zeros) | reflect | ...
  config.augment.flip = False  # Random horizontal flips.

  config.model = ml_collections.ConfigDict()
  config.model.name = "small_cnn"  # Other fields are the model builder's arguments.
  config.model.widths = (32, 64)
  config.model.hidden = 128
  config.model.batch_norm = False

  config.optim = ml_collections.ConfigDict()
  config.optim.name = "sgd"  # sgd | adam | rmsprop | adagrad | layca | keras | sgd_normalized.
  config.optim.layer_rule = KERNEL_RULE  # Regex over parameter paths: Layca's layers.
  config.optim.alpha = 0.0  # Layer-wise lr multipliers (1-alpha)^(...) ; 0 = all ones.
  config.optim.multiplier_rules = ()  # Or ((regex, multiplier), ...) covering every param.
  config.optim.learning_rate = 0.05
  # Std of i.i.d. Gaussian noise added to every gradient entry (0 = off): an explicit stand-in
  # for the GPU non-determinism that breaks symmetric inits in PyTorch.
  config.optim.gradient_noise = 0.0
  config.optim.weight_decay = 0.0  # Added to the gradient as weight_decay * w ...
  config.optim.weight_decay_convention = "pytorch"  # ... or 2 * weight_decay * w for "keras".
  config.optim.weight_decay_rule = ".*"  # Regex over parameter paths that are decayed.
  config.optim.schedule = "constant"  # constant | step | exponential.
  config.optim.warmup_epochs = 0  # Linear warm-up length in epochs (0 = none).
  config.optim.warmup_start_factor = 0.1  # Warm-up starts at this fraction of the lr.
  # layca: a workdir whose per-step "step_rotation" rows (train.log_every_steps=1) give each
  # layer's rate at each step, replacing learning_rate and its schedule ("" = off).
  config.optim.copy_rotation_from = ""
  # Each optimizer's and schedule's own settings (momentum, nesterov, base, b1, b2, rms_decay,
  # eps, train_non_layers, milestones, decay_factor), with their builders' defaults: see the
  # builders in jaxgen/optim/optimizers.py and jaxgen/optim/schedules.py.
  _add_builder_defaults(config.optim, OPTIMIZERS, SCHEDULES)

  config.train = ml_collections.ConfigDict()
  config.train.num_epochs = 8
  config.train.batch_size = 64
  config.train.eval_batch_size = 500
  config.train.shuffle = True  # False: every epoch in dataset order (no reshuffling).
  # Also log "top{k}_accuracy" on eval splits, e.g. (5,). Ties with the k-th logit count as
  # hits (Keras/TF in_top_k), so constant logits score 100%; PyTorch's topk breaks ties.
  config.train.eval_top_k = ()
  config.train.log_every_steps = 0  # Logging events (metrics, eval): 0 = each epoch end.
  # Dtype of the forward and backward pass: float32 | bfloat16 (mixed precision, for GPUs:
  # parameters, batch statistics and optimizer state stay float32; see jaxgen/precision.py).
  config.train.compute_dtype = "float32"
  # Stopping rules are checked per seed at each logging event on the running train loss and
  # accuracy of the interval (training mode: BN batch statistics, augmentation), or on the
  # test accuracy of that event; a stopped seed is frozen and summary.json records when and why.
  config.train.stop = ml_collections.ConfigDict()
  # Accuracies are fractions in [0, 1] (0.94, not the 94.0 of some papers' code).
  config.train.stop.target_train_accuracy = 0.0  # Stop a seed at this train accuracy (0 = off).
  config.train.stop.target_train_loss = 0.0  # Stop a seed at this train loss (0 = off).
  config.train.stop.target_test_accuracy = 0.0  # Stop at this test accuracy (0 = off).
  config.train.stop.plateau_epochs = 0  # Stop after this many events of unchanged loss.
  config.train.stop.plateau_min_delta = 0.0  # "Unchanged" means |delta loss| <= this.
  config.train.stop.fail_check_epoch = 0  # At this epoch, stop a seed whose train ...
  config.train.stop.fail_below_accuracy = 0.0  # ... accuracy is <= this ("not working").

  config.metrics = ml_collections.ConfigDict()
  config.metrics.names = ("layer_rotation", "relative_weight_change")
  config.metrics.layer_rule = KERNEL_RULE  # Regex over parameter paths: what is a layer.
  # Each metric's own settings (rwc_variant, projection_with_linear): jaxgen/metrics/registry.py.
  _add_builder_defaults(config.metrics, METRICS)

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.every_epochs = 1  # Rolling latest checkpoint, for resume.
  config.checkpoint.snapshot_every_epochs = 0  # Kept forever: every E epochs, ...
  config.checkpoint.snapshot_until_epoch = 0  # ... every epoch up to K, ...
  config.checkpoint.snapshot_epochs = ()  # ... and these epochs (step 0 is always kept).

  config.logging = ml_collections.ConfigDict()
  config.logging.progress_bar = True  # Shown only when stderr is a terminal.
  config.logging.tensorboard = True
  config.logging.figures = True

  config.sharding = ml_collections.ConfigDict()
  config.sharding.seed_axis_size = 1  # Devices along the seed axis; the rest split batches.
  # How each device runs its seeds' train and eval steps: vmap (batched into one step; dense
  # layers batch well) | map (one seed after another in the same program; convolutions keep
  # their fast ungrouped form) | auto (map for convolutional models on CPU, else vmap: what
  # benchmarks/vs_pytorch.py measured). All give the same parameters up to float rounding.
  config.sharding.seed_strategy = "auto"
  return config
