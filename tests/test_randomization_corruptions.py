"""Tests for the randomisation-test corruptions of Zhang et al. (2017)."""

import numpy as np
import pytest

from jaxgen.config import ConfigError
from jaxgen.data import corruptions
from jaxgen.data.corruptions import CORRUPTIONS, corrupt, corrupt_labels

NUM_CLASSES = 10


def _labels(n: int, seed: int = 123) -> np.ndarray:
  return np.random.default_rng(seed).integers(0, NUM_CLASSES, size=n)


def _images(n: int = 6, h: int = 4, w: int = 5, c: int = 3, seed: int = 7) -> np.ndarray:
  return np.random.default_rng(seed).random((n, h, w, c)).astype(np.float32)


def _binomial_tolerance(q: float, n: int, num_std: float = 5.0) -> float:
  return num_std * np.sqrt(q * (1 - q) / n)


@pytest.mark.parametrize("level", [0.0, 0.1, 0.37, 1.0])
def test_always_different_exact_fraction_changes_exactly_level(level):
  labels = _labels(1000)
  noisy = corrupt_labels(labels, level, seed=1, num_classes=NUM_CLASSES,
                         convention="always_different", exact_fraction=True)
  assert np.sum(noisy != labels) == round(level * labels.size)


def test_always_different_bernoulli_changes_about_level():
  labels, level = _labels(50_000), 0.3
  noisy = corrupt_labels(labels, level, seed=2, num_classes=NUM_CLASSES,
                         convention="always_different")
  changed = np.mean(noisy != labels)
  assert abs(changed - level) < _binomial_tolerance(level, labels.size)


@pytest.mark.parametrize("exact_fraction", [False, True])
def test_uniform_changes_level_times_one_minus_one_over_c(exact_fraction):
  labels, level = _labels(50_000), 0.5
  noisy = corrupt_labels(labels, level, seed=3, num_classes=NUM_CLASSES,
                         exact_fraction=exact_fraction)
  expected = level * (1 - 1 / NUM_CLASSES)
  assert abs(np.mean(noisy != labels) - expected) < _binomial_tolerance(expected, labels.size)
  assert noisy.min() >= 0 and noisy.max() < NUM_CLASSES


@pytest.mark.parametrize("convention", ["uniform", "always_different"])
@pytest.mark.parametrize("exact_fraction", [False, True])
def test_level_zero_changes_nothing(convention, exact_fraction):
  images, labels = _images(), _labels(6)
  out_images, out_labels = corrupt(images, labels, "partial_labels", level=0.0, seed=4,
                                   num_classes=NUM_CLASSES, label_noise_convention=convention,
                                   exact_fraction=exact_fraction)
  np.testing.assert_array_equal(out_labels, labels)
  np.testing.assert_array_equal(out_images, images)


def test_random_labels_keeps_about_one_over_c_and_ignores_level():
  images, labels = np.zeros((20_000, 1, 1, 1), np.uint8), _labels(20_000)
  _, noisy = corrupt(images, labels, "random_labels", level=0.2, seed=5, num_classes=NUM_CLASSES)
  q = 1 / NUM_CLASSES
  assert abs(np.mean(noisy == labels) - q) < _binomial_tolerance(q, labels.size)


def test_label_noise_is_nested_across_levels():
  labels = _labels(2000)
  low = corrupt_labels(labels, 0.2, seed=6, num_classes=NUM_CLASSES, convention="always_different")
  high = corrupt_labels(labels, 0.6, seed=6, num_classes=NUM_CLASSES, convention="always_different")
  changed_low = low != labels
  assert np.all((high != labels)[changed_low])
  np.testing.assert_array_equal(high[changed_low], low[changed_low])


def test_shuffled_pixels_one_permutation_for_all_images_channels_together():
  n, h, w, c = 3, 4, 5, 3
  # Each value encodes (image, position, channel), so the output reveals the permutation.
  images = np.arange(n * h * w * c).reshape(n, h, w, c)
  out, _ = corrupt(images, np.zeros(n, int), "shuffled_pixels", seed=8)
  perm = corruptions.pixel_permutation(h, w, seed=8)
  np.testing.assert_array_equal(np.sort(perm), np.arange(h * w))
  assert not np.array_equal(perm, np.arange(h * w))
  flat_in, flat_out = images.reshape(n, h * w, c), out.reshape(n, h * w, c)
  for i in range(n):
    np.testing.assert_array_equal(flat_out[i], flat_in[i][perm])  # Whole RGB triples move.
  # Same permutation for every image: the offsets between images are unchanged.
  np.testing.assert_array_equal(flat_out - flat_out[:1], flat_in - flat_in[:1])


def test_shuffled_pixels_same_seed_reproduces_on_test_split():
  train, test = _images(4, seed=1), _images(3, seed=2)
  out_train, _ = corrupt(train, np.zeros(4, int), "shuffled_pixels", seed=9)
  out_test, _ = corrupt(test, np.zeros(3, int), "shuffled_pixels", seed=9)
  perm = corruptions.pixel_permutation(4, 5, seed=9)
  np.testing.assert_array_equal(out_train, corruptions.permute_pixels(train, perm))
  np.testing.assert_array_equal(out_test, corruptions.permute_pixels(test, perm))


def test_random_pixels_permute_each_image_independently():
  n, h, w, c = 5, 4, 5, 3
  images = _images(n, h, w, c)
  out, _ = corrupt(images, np.zeros(n, int), "random_pixels", seed=10)
  assert out.dtype == images.dtype
  flat_in, flat_out = images.reshape(n, h * w, c), out.reshape(n, h * w, c)
  orders = []
  for i in range(n):
    np.testing.assert_array_equal(np.sort(flat_out[i].ravel()), np.sort(flat_in[i].ravel()))
    # Values are distinct, so each output triple identifies its source position.
    order = [int(np.flatnonzero(np.all(flat_in[i] == pixel, axis=1))[0]) for pixel in flat_out[i]]
    assert sorted(order) == list(range(h * w))
    orders.append(tuple(order))
  assert len(set(orders)) == n


@pytest.mark.parametrize("stats", ["per_channel", "global"])
def test_gaussian_matches_mean_and_variance(stats):
  rng = np.random.default_rng(11)
  # Channels with different moments, stored as uint8 like raw CIFAR-10.
  images = np.clip(rng.normal([60, 120, 200], [10, 30, 20], size=(200, 8, 8, 3)), 0, 255)
  images = images.astype(np.uint8)
  out, _ = corrupt(images, np.zeros(200, int), "gaussian", seed=12, gaussian_stats=stats)
  assert out.shape == images.shape and out.dtype == np.float32
  axes = (0, 1, 2) if stats == "per_channel" else None
  data = images.astype(np.float64)
  mean, var = data.mean(axis=axes), data.var(axis=axes)
  n = data.size // (3 if stats == "per_channel" else 1)
  np.testing.assert_allclose(out.mean(axis=axes), mean, atol=float(np.max(5 * np.sqrt(var / n))))
  np.testing.assert_allclose(out.var(axis=axes), var, rtol=5 * np.sqrt(2 / n))
  # Per-channel moments also match the global ones (law of total variance).
  if stats == "per_channel":
    np.testing.assert_allclose(out.var(), data.var(), rtol=5 * np.sqrt(2 / data.size))


@pytest.mark.parametrize("kind", [k for k in CORRUPTIONS if k != "none"])
def test_same_seed_same_arrays_different_seed_differs(kind):
  images, labels = _images(40), _labels(40)
  kwargs = dict(kind=kind, level=0.5, num_classes=NUM_CLASSES, num_kept_classes=4)
  a = corrupt(images, labels, seed=13, **kwargs)
  b = corrupt(images, labels, seed=13, **kwargs)
  c = corrupt(images, labels, seed=14, **kwargs)
  for x, y in zip(a, b, strict=True):
    np.testing.assert_array_equal(x, y)
  assert any(x.shape != z.shape or not np.array_equal(x, z) for x, z in zip(a, c, strict=True))


def test_class_subset_keeps_k_classes_relabelled():
  images, labels = _images(200), _labels(200)
  out_images, out_labels = corrupt(images, labels, "class_subset", seed=15,
                                   num_classes=NUM_CLASSES, num_kept_classes=3)
  kept = corruptions.class_subset_classes(NUM_CLASSES, 3, seed=15)
  keep = np.isin(labels, kept)
  assert sorted(np.unique(out_labels)) == [0, 1, 2]
  np.testing.assert_array_equal(out_images, images[keep])
  np.testing.assert_array_equal(kept[out_labels], labels[keep])


@pytest.mark.parametrize("kwargs, field", [
    (dict(kind="shuffle"), "data.corruption.kind"),
    (dict(kind="partial_labels", level=1.5), "data.corruption.level"),
    (dict(kind="partial_labels", level=-0.1), "data.corruption.level"),
    (dict(kind="partial_labels", label_noise_convention="gamba"), "data.corruption.label_noise"),
    (dict(kind="class_subset", num_kept_classes=11), "data.corruption.num_kept_classes"),
])
def test_bad_config_raises_config_error_naming_field(kwargs, field):
  with pytest.raises(ConfigError, match=field) as info:
    corrupt(_images(), _labels(6), num_classes=NUM_CLASSES, **kwargs)
  if field == "data.corruption.kind":
    assert all(kind in str(info.value) for kind in CORRUPTIONS)
  if field == "data.corruption.label_noise":
    assert "uniform" in str(info.value) and "always_different" in str(info.value)
