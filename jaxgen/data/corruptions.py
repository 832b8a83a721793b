"""Randomisation tests of Zhang et al. (2017): label and image corruptions, drawn once.

Every corruption is a pure NumPy function of in-memory arrays (images `(N, H, W, C)`, float or
uint8; labels `(N,)` ints) and of an explicit seed, applied once before training so that it stays
fixed across epochs and reproduces on resume. Which split to corrupt is the caller's choice:
- label noise is meant for the training split only (test labels stay true, as in Zhang's plots);
- "shuffled_pixels" must be applied to train AND test: calling `corrupt` on the test split with
  the same seed (or `permute_pixels` with `pixel_permutation(...)`) gives the same permutation;
- "class_subset" must also be applied to both splits with the same seed (`class_subset_classes`).

Label-noise conventions (`label_noise_convention`):
- "uniform" (Zhang et al.): a selected label is redrawn uniformly from all C classes, so it keeps
  its true value with probability 1/C; at level 1 about 1/C of the labels are still correct.
- "always_different" (Gamba et al. `--noise p`): a selected label is shifted by a random offset
  in {1, ..., C-1} mod C, so every selected label changes.

Selection of the noisy labels: by default each label is selected independently with probability
`level` (the spec's wording); `exact_fraction=True` selects exactly round(level * N) labels.
Both draw the selection and the replacement labels for all N examples whatever the level, so for
a fixed seed the noisy set at level p is contained in the one at level p' > p, with the same
replacement labels: sweeps over p are coupled, which lowers the noise between sweep points.
"""

import numpy as np

from jaxgen.config.errors import ConfigError

CORRUPTIONS = ("none", "partial_labels", "random_labels", "shuffled_pixels", "random_pixels",
               "gaussian", "class_subset")
LABEL_NOISE_CONVENTIONS = ("uniform", "always_different")
GAUSSIAN_STATS = ("per_channel", "global")

# Per-image permutations are drawn in chunks to keep the index array small (N*H*W ints at once
# would be ~300 MB for CIFAR-10). The chunk size is part of the random stream: do not change it.
_PERMUTATION_CHUNK = 1024


def _check_choice(value: str, choices: tuple[str, ...], field: str) -> None:
  """Raises ConfigError naming `field` and the valid choices if `value` is not one of them."""
  if value not in choices:
    raise ConfigError(f"config.{field}={value!r} is not valid; valid choices: {', '.join(choices)}")


def _check_level(level: float) -> None:
  """Raises ConfigError unless 0 <= level <= 1."""
  if not 0.0 <= level <= 1.0:
    raise ConfigError(f"config.data.corruption.level={level!r} must be in [0, 1]")


def _check_images(images: np.ndarray) -> None:
  """Checks that `images` is an (N, H, W, C) array."""
  if images.ndim != 4:
    raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")


def corrupt_labels(labels: np.ndarray, level: float, seed: int = 0,
                   num_classes: int | None = None, convention: str = "uniform",
                   exact_fraction: bool = False) -> np.ndarray:
  """Returns a copy of `labels` with a fraction `level` of them made noisy.

  Args:
    labels: int array (N,) of true labels in [0, num_classes).
    level: probability (or exact fraction with `exact_fraction`) of selecting a label, in [0, 1].
    seed: seed of `np.random.default_rng`; the same seed gives the same noisy labels.
    num_classes: number of classes C; inferred as `labels.max() + 1` when None (pass it
      explicitly if the highest class may be absent from `labels`).
    convention: "uniform" (Zhang: redraw from all C classes, may keep the true label) or
      "always_different" (Gamba: shift by an offset in 1..C-1 mod C).
    exact_fraction: select exactly round(level * N) labels instead of independent draws.

  Returns:
    The noisy labels, same shape and dtype as `labels`.
  """
  _check_choice(convention, LABEL_NOISE_CONVENTIONS, "data.corruption.label_noise")
  _check_level(level)
  labels = np.asarray(labels)
  if labels.ndim != 1:
    raise ValueError(f"labels must have shape (N,), got {labels.shape}")
  n = labels.shape[0]
  if num_classes is None:
    num_classes = int(labels.max()) + 1 if n else 1
  if n and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(f"labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]")
  if convention == "always_different" and num_classes < 2:
    raise ConfigError("config.data.corruption.label_noise='always_different' needs >= 2 classes")
  rng = np.random.default_rng(seed)
  # Draw the selection and the replacements for every example regardless of `level` so that
  # the noisy sets are nested across levels for a fixed seed (see the module docstring).
  if exact_fraction:
    selected = np.zeros(n, dtype=bool)
    selected[rng.permutation(n)[:round(level * n)]] = True
  else:
    selected = rng.random(n) < level
  if convention == "uniform":
    replacement = rng.integers(0, num_classes, size=n)
  else:
    replacement = (labels + rng.integers(1, num_classes, size=n)) % num_classes
  return np.where(selected, replacement, labels).astype(labels.dtype)


def pixel_permutation(height: int, width: int, seed: int = 0) -> np.ndarray:
  """Returns the fixed permutation of the `height * width` spatial positions for `seed`.

  Args:
    height: image height H.
    width: image width W.
    seed: seed of `np.random.default_rng`.

  Returns:
    int array (H * W,): output position i takes the pixel at input position `perm[i]`.
  """
  return np.random.default_rng(seed).permutation(height * width)


def permute_pixels(images: np.ndarray, perm: np.ndarray) -> np.ndarray:
  """Applies one spatial permutation to every image, keeping each pixel's channels together.

  Args:
    images: array (N, H, W, C).
    perm: permutation of range(H * W) shared by all images, or an int array (N, H * W) with one
      permutation per image.

  Returns:
    The permuted images, same shape and dtype.
  """
  _check_images(images)
  n, h, w, c = images.shape
  flat = images.reshape(n, h * w, c)
  perm = np.broadcast_to(perm, (n, h * w))
  return np.take_along_axis(flat, perm[:, :, None], axis=1).reshape(images.shape)


def random_pixel_permutations(num_images: int, height: int, width: int,
                              seed: int = 0) -> np.ndarray:
  """Returns an independent permutation of the H * W spatial positions for each image.

  Args:
    num_images: number of images N.
    height: image height H.
    width: image width W.
    seed: seed of `np.random.default_rng`.

  Returns:
    int32 array (N, H * W), one permutation per row.
  """
  rng = np.random.default_rng(seed)
  base = np.arange(height * width, dtype=np.int32)
  chunks = []
  for start in range(0, num_images, _PERMUTATION_CHUNK):
    rows = min(_PERMUTATION_CHUNK, num_images - start)
    chunks.append(rng.permuted(np.tile(base, (rows, 1)), axis=1))
  return np.concatenate(chunks) if chunks else np.zeros((0, base.size), np.int32)


def gaussian_images(images: np.ndarray, seed: int = 0, stats: str = "per_channel") -> np.ndarray:
  """Returns i.i.d. Gaussian images with the mean and variance of `images`.

  With "per_channel" (the default) each channel gets its own mean and variance; since all
  channels have equally many values, this also matches the global mean and variance (law of
  total variance) and keeps colour statistics. "global" uses one mean and variance for all values.

  Args:
    images: array (N, H, W, C), float or uint8.
    seed: seed of `np.random.default_rng`.
    stats: "per_channel" or "global".

  Returns:
    float32 array of the same shape (float, since clipping to uint8 would change the moments).
  """
  _check_images(images)
  _check_choice(stats, GAUSSIAN_STATS, "data.corruption.gaussian_stats")
  axes = (0, 1, 2) if stats == "per_channel" else None
  x = images.astype(np.float64)
  mean, std = x.mean(axis=axes), x.std(axis=axes)
  noise = np.random.default_rng(seed).standard_normal(images.shape, dtype=np.float32)
  return (mean + std * noise).astype(np.float32)


def class_subset_classes(num_classes: int, num_kept: int, seed: int = 0) -> np.ndarray:
  """Returns the sorted `num_kept` classes kept by "class_subset" for `seed`.

  Args:
    num_classes: number of classes C.
    num_kept: number of classes k to keep, in [1, C].
    seed: seed of `np.random.default_rng`.

  Returns:
    Sorted int array (k,); class `kept[j]` is relabelled j.
  """
  if not 1 <= num_kept <= num_classes:
    raise ConfigError(
        f"config.data.corruption.num_kept_classes={num_kept} must be in [1, {num_classes}]")
  return np.sort(np.random.default_rng(seed).choice(num_classes, size=num_kept, replace=False))


def corrupt(images: np.ndarray, labels: np.ndarray, kind: str, level: float = 1.0, seed: int = 0,
            num_classes: int | None = None, label_noise_convention: str = "uniform",
            exact_fraction: bool = False, num_kept_classes: int | None = None,
            gaussian_stats: str = "per_channel") -> tuple[np.ndarray, np.ndarray]:
  """Applies the corruption `kind` once to a split.

  Args:
    images: array (N, H, W, C), float or uint8.
    labels: int array (N,).
    kind: one of `CORRUPTIONS`:
      "none": inputs returned unchanged (not copied).
      "partial_labels": labels made noisy with probability `level` (see `corrupt_labels`).
      "random_labels": "partial_labels" at level 1; `level` is ignored.
      "shuffled_pixels": one spatial permutation for all images (`pixel_permutation`); apply
        to the test split with the same seed.
      "random_pixels": an independent spatial permutation per image.
      "gaussian": i.i.d. Gaussian images with the data's mean and variance (float32 output).
      "class_subset": keep `num_kept_classes` classes chosen with the seed, relabelled 0..k-1;
        returns fewer examples. Apply to the test split with the same seed.
    level: label-noise level in [0, 1]; used by "partial_labels" only, validated always.
    seed: seed of `np.random.default_rng`; the same seed gives the same arrays.
    num_classes: number of classes; inferred from `labels` when None.
    label_noise_convention: "uniform" (Zhang) or "always_different" (Gamba).
    exact_fraction: label noise on exactly round(level * N) labels rather than independently.
    num_kept_classes: k for "class_subset" (required there).
    gaussian_stats: "per_channel" (default) or "global" moments for "gaussian".

  Returns:
    `(images, labels)` after the corruption.
  """
  _check_choice(kind, CORRUPTIONS, "data.corruption.kind")
  _check_choice(label_noise_convention, LABEL_NOISE_CONVENTIONS, "data.corruption.label_noise")
  _check_level(level)
  _check_images(images)
  if images.shape[0] != labels.shape[0]:
    raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
  n, h, w, _ = images.shape
  if kind in ("partial_labels", "random_labels"):
    level = 1.0 if kind == "random_labels" else level
    return images, corrupt_labels(labels, level, seed, num_classes, label_noise_convention,
                                  exact_fraction)
  if kind == "shuffled_pixels":
    return permute_pixels(images, pixel_permutation(h, w, seed)), labels
  if kind == "random_pixels":
    return permute_pixels(images, random_pixel_permutations(n, h, w, seed)), labels
  if kind == "gaussian":
    return gaussian_images(images, seed, gaussian_stats), labels
  if kind == "class_subset":
    if num_kept_classes is None:
      raise ConfigError("config.data.corruption.num_kept_classes must be set for 'class_subset'")
    if num_classes is None:
      num_classes = int(labels.max()) + 1
    kept = class_subset_classes(num_classes, num_kept_classes, seed)
    keep = np.isin(labels, kept)
    # `kept` is sorted, so searchsorted maps class kept[j] to j.
    return images[keep], np.searchsorted(kept, labels[keep]).astype(labels.dtype)
  return images, labels
