"""Loads a dataset into memory as train / validation / test arrays, and draws batches.

The data order of a run is a pure function of its seed: epoch e uses the permutation
`jax.random.permutation(fold_in(data_key, e), num_train)`, computed once at the epoch's start
(`epoch_order`), and step i of the epoch takes the i-th slice of it. Batches are gathered on
device, so no host round-trip happens per step.
"""

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen.config.errors import ConfigError
from jaxgen.data import corruptions, preprocess
from jaxgen.data.sources import DATASETS, RawDataset, stratified_holdout


@dataclasses.dataclass(frozen=True)
class Split:
  """Images (float32, N x H x W x C, normalised dataset-wide) and int32 labels."""

  images: np.ndarray
  labels: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """The splits a run trains and evaluates on."""

  train: Split
  validation: Split | None
  test: Split
  num_classes: int

  def eval_splits(self) -> dict[str, Split]:
    """The splits evaluated at every logging event, by name."""
    splits = {"test": self.test}
    if self.validation is not None:
      splits = {"validation": self.validation, **splits}
    return splits


def _validation_mask(labels: np.ndarray, size: float, stratified: bool, seed: int) -> np.ndarray:
  n = len(labels)
  count = int(round(size * n)) if 0 < size < 1 else int(size)
  if count < 0 or count >= n:
    raise ConfigError(f"config.data.validation_size={size} leaves no training data: the "
                      f"training split has {n} examples; use a fraction in [0, 1) or a count "
                      f"below {n}")
  if count == 0:
    return np.zeros(n, dtype=bool)
  if stratified:
    classes = np.unique(labels)
    if count % len(classes):
      raise ConfigError(f"config.data.validation_size={size} gives {count} examples, which "
                        f"cannot be stratified evenly over {len(classes)} classes")
    return stratified_holdout(labels, count // len(classes), seed)
  rng = np.random.default_rng(seed)
  mask = np.zeros(n, dtype=bool)
  mask[rng.choice(n, count, replace=False)] = True
  return mask


# Which corruptions also change the test split under test_split="spec" (Zhang et al.): a
# shuffled-pixel dataset is a fixed re-ordering of the input space, so the test images get the
# same permutation; a class subset restricts the task. Label noise and per-image randomness
# are properties of the training set only.
_CORRUPTS_TEST_BY_SPEC = ("shuffled_pixels", "class_subset")
TEST_SPLIT_CHOICES = ("spec", "corrupt", "clean")


def _corrupt(corruption: ml_collections.ConfigDict, images: np.ndarray, labels: np.ndarray,
             num_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  return corruptions.corrupt(
      images, labels, kind=corruption.kind, level=corruption.level, seed=seed,
      num_classes=num_classes, label_noise_convention=corruption.label_noise,
      exact_fraction=corruption.exact_fraction,
      num_kept_classes=corruption.num_kept_classes or None,
      gaussian_stats=corruption.gaussian_stats)


VALIDATION_SPLIT_CHOICES = ("like_test", "like_train")


def _corrupt_like_test(corruption: ml_collections.ConfigDict, images: np.ndarray,
                       labels: np.ndarray, num_classes: int,
                       seed_offset: int) -> tuple[np.ndarray, np.ndarray]:
  """A held-out split under `corruption.test_split`: "spec" corrupts it for shuffled pixels
  (same permutation) and class subsets only, "corrupt" always (label noise from the seed
  stream `seed + seed_offset`), "clean" never (class subsets excepted: they define the task)."""
  if not (corruption.test_split == "corrupt" or corruption.kind == "class_subset"
          or (corruption.test_split == "spec" and corruption.kind in _CORRUPTS_TEST_BY_SPEC)):
    return images, labels
  # Pixel permutations and class subsets depend only on the seed, so a held-out split gets
  # the training split's; label noise gets an independent draw.
  same_draw = corruption.kind in _CORRUPTS_TEST_BY_SPEC
  return _corrupt(corruption, images, labels, num_classes,
                  corruption.seed if same_draw else corruption.seed + seed_offset)


def apply_corruption(corruption: ml_collections.ConfigDict, raw: RawDataset,
                     held_out: np.ndarray | None = None
                     ) -> tuple[RawDataset, tuple[np.ndarray, np.ndarray] | None]:
  """Applies `config.data.corruption` to float images, once, from its explicit seed.

  The training examples are always corrupted, the test split as `corruption.test_split`
  says (see `_corrupt_like_test`).

  Args:
    corruption: `config.data.corruption`.
    raw: the dataset.
    held_out: a mask over the training examples that form the validation split; they are
      taken out of the clean training set and treated as the test split is (the reading of
      `corruption.validation_split="like_test"`).

  Returns:
    (the dataset with the remaining training examples, the validation (images, labels) or
    None when `held_out` is None).
  """
  if corruption.test_split not in TEST_SPLIT_CHOICES:
    raise ConfigError(f"config.data.corruption.test_split={corruption.test_split!r} is not "
                      f"known; valid choices: {', '.join(TEST_SPLIT_CHOICES)}")
  train_images, train_labels = raw.train_images, raw.train_labels
  validation = None
  if held_out is not None:
    validation = (train_images[held_out], train_labels[held_out])
    if held_out.any():  # Without a validation split, no copy of the training set.
      train_images, train_labels = train_images[~held_out], train_labels[~held_out]
  if corruption.kind == "none":
    return dataclasses.replace(raw, train_images=train_images,
                               train_labels=train_labels), validation
  train = _corrupt(corruption, train_images, train_labels, raw.num_classes, corruption.seed)
  test = _corrupt_like_test(corruption, raw.test_images, raw.test_labels, raw.num_classes, 1)
  if validation is not None:
    validation = _corrupt_like_test(corruption, *validation, raw.num_classes, 2)
  num_classes = corruption.num_kept_classes if corruption.kind == "class_subset" else (
      raw.num_classes)
  return RawDataset(*train, *test, num_classes), validation


def load_dataset(data: ml_collections.ConfigDict) -> Dataset:
  """Loads `config.data`: source, per-class subsampling, resizing, validation split,
  corruption and normalisation.

  The validation split (`data.validation_size`) is held out of the clean training set,
  stratified on the clean labels, before the corruption, and is then treated as the test
  split is (Gamba et al.'s code corrupts the training indices only): with label noise it
  stays clean. `data.corruption.validation_split="like_train"` gives the other reading: the
  whole training set is corrupted first and the validation split is taken from it.

  Args:
    data: `config.data`.

  Returns:
    A Dataset with float32 images normalised by statistics of all training images,
    validation included (taken before the validation split, as in the layer-rotation code).
  """
  raw: RawDataset = DATASETS.build(data.name, data)
  if data.train_per_class:
    keep = stratified_holdout(raw.train_labels, data.train_per_class, data.split_seed)
    raw = dataclasses.replace(raw, train_images=raw.train_images[keep],
                              train_labels=raw.train_labels[keep])
  raw = dataclasses.replace(raw, train_images=preprocess.to_float(raw.train_images),
                            test_images=preprocess.to_float(raw.test_images))
  if data.resize:
    raw = dataclasses.replace(raw, train_images=preprocess.resize(raw.train_images, data.resize),
                              test_images=preprocess.resize(raw.test_images, data.resize))

  def holdout(labels: np.ndarray) -> np.ndarray:
    return _validation_mask(labels, data.validation_size, data.stratified_validation,
                            data.split_seed)

  corruption = data.corruption
  if corruption.validation_split == "like_train":
    raw, _ = apply_corruption(corruption, raw)
    all_train_images = raw.train_images
    held_out = holdout(raw.train_labels)
    validation = (raw.train_images[held_out], raw.train_labels[held_out])
    train = (raw.train_images[~held_out], raw.train_labels[~held_out])
  else:
    raw, validation = apply_corruption(corruption, raw, holdout(raw.train_labels))
    train = (raw.train_images, raw.train_labels)
    all_train_images = np.concatenate([train[0], validation[0]]) if len(validation[1]) else (
        train[0])

  mean, std = preprocess.normalization_stats(all_train_images, data.normalization, data.mean,
                                             data.std)
  normalize = lambda images: (images - mean) / std
  return Dataset(
      train=Split(normalize(train[0]), train[1]),
      validation=Split(normalize(validation[0]), validation[1]) if len(validation[1]) else None,
      test=Split(normalize(raw.test_images), raw.test_labels),
      num_classes=raw.num_classes,
  )


def padded_batches(split: Split, batch_size: int) -> tuple[np.ndarray, ...]:
  """(images, labels, mask) reshaped into (num_batches, batch_size, ...) with zero padding."""
  n = len(split)
  num_batches = -(-n // batch_size)
  pad = num_batches * batch_size - n
  images = np.concatenate([split.images, np.zeros((pad, *split.images.shape[1:]), np.float32)])
  labels = np.concatenate([split.labels, np.zeros(pad, np.int32)])
  mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
  shape = (num_batches, batch_size)
  return (images.reshape(shape + images.shape[1:]), labels.reshape(shape),
          mask.reshape(shape))


def epoch_permutation(data_key: jax.Array, epoch: jax.Array, num_examples: int) -> jax.Array:
  """The order in which epoch `epoch` visits the training examples."""
  return jax.random.permutation(jax.random.fold_in(data_key, epoch), num_examples)


def epoch_order(data_key: jax.Array, epoch: jax.Array, num_examples: int,
                shuffle: bool = True) -> jax.Array:
  """The (num_examples,) int32 indices of the training examples in the order epoch `epoch`
  visits them: its permutation, or dataset order with `shuffle=False` (a PyTorch DataLoader
  without shuffle=True, as in the relative-weight-change code).

  Computed once per epoch: sorting all N indices costs far more than gathering one batch.
  """
  if not shuffle:
    return jnp.arange(num_examples, dtype=jnp.int32)
  return epoch_permutation(data_key, epoch, num_examples).astype(jnp.int32)


def batch_of_order(order: jax.Array, step: jax.Array, batch_size: int) -> jax.Array:
  """Indices of the examples in global step `step`, the `step % steps_per_epoch`-th slice of
  its epoch's `order` (epochs drop the last partial batch)."""
  steps_per_epoch = order.shape[0] // batch_size
  start = (step % steps_per_epoch) * batch_size
  return jax.lax.dynamic_slice_in_dim(order, start, batch_size)


def batch_indices(data_key: jax.Array, step: jax.Array, num_examples: int,
                  batch_size: int, shuffle: bool = True) -> jax.Array:
  """Indices of the examples in global step `step` (epochs drop the last partial batch).

  With `shuffle=False` every epoch visits the examples in dataset order; the same last
  `num_examples % batch_size` examples are then never trained on, where PyTorch would give
  them a partial batch.
  """
  epoch = step // (num_examples // batch_size)
  return batch_of_order(epoch_order(data_key, epoch, num_examples, shuffle), step, batch_size)


def gather_batch(images: jnp.ndarray, labels: jnp.ndarray,
                 indices: jax.Array) -> tuple[jnp.ndarray, jnp.ndarray]:
  """The batch at `indices` of the device-resident training arrays."""
  return jnp.take(images, indices, axis=0), jnp.take(labels, indices, axis=0)
