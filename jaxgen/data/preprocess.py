"""Host-side preprocessing computed once at load time, and the on-device input function.

Dataset-wide normalisation (one scalar, or one value per channel, computed on the training
split) is applied on the host. Cropping, augmentation and per-image standardisation run on
device inside the jitted step, because they depend on the crop taken.
"""

import jax
import numpy as np

from jaxgen.config.errors import ConfigError

NORMALIZATIONS = ("none", "global", "per_channel", "per_image", "fixed")


def to_float(images: np.ndarray) -> np.ndarray:
  """uint8 images to float32 in [0, 1]; float images are returned as float32."""
  if images.dtype == np.uint8:
    return images.astype(np.float32) / 255.0
  return images.astype(np.float32)


def normalization_stats(train_images: np.ndarray, mode: str, fixed_mean=(), fixed_std=()
                        ) -> tuple[np.ndarray, np.ndarray]:
  """Mean and std to subtract and divide by, computed on the training images.

  Args:
    train_images: float array (N, H, W, C).
    mode: "global" (one scalar over all pixels and channels, as in the layer-rotation code),
      "per_channel" (one value per channel), "fixed" (`fixed_mean` and `fixed_std`, one
      value or one per channel, whatever the data: e.g. the constants a paper's code used),
      or "none"/"per_image" (identity here).
    fixed_mean: `config.data.mean`, used by "fixed".
    fixed_std: `config.data.std`, used by "fixed".

  Returns:
    (mean, std), broadcastable against (N, H, W, C).
  """
  if mode not in NORMALIZATIONS:
    raise ConfigError(f"config.data.normalization={mode!r} is not known; "
                      f"valid choices: {', '.join(NORMALIZATIONS)}")
  if mode == "global":
    # float64 accumulation: a float32 sum over 150M values loses digits.
    return (np.asarray(train_images.mean(dtype=np.float64), np.float32),
            np.asarray(train_images.std(dtype=np.float64), np.float32))
  if mode == "fixed":
    channels = train_images.shape[-1]
    for name, values in (("mean", fixed_mean), ("std", fixed_std)):
      if len(values) not in (1, channels):
        raise ConfigError(f"config.data.{name}={tuple(values)} needs 1 or {channels} values "
                          f"(one per channel) for config.data.normalization='fixed'")
    if min(fixed_std) <= 0:
      raise ConfigError(f"config.data.std={tuple(fixed_std)} must be > 0")
    return np.asarray(fixed_mean, np.float32), np.asarray(fixed_std, np.float32)
  if mode == "per_channel":
    axes = tuple(range(train_images.ndim - 1))
    return (train_images.mean(axis=axes, dtype=np.float64).astype(np.float32),
            train_images.std(axis=axes, dtype=np.float64).astype(np.float32))
  return np.zeros((), np.float32), np.ones((), np.float32)


def center_crop(images, size: int):
  """Crops the central size x size window of (N, H, W, C) images (numpy or jax arrays)."""
  height, width = images.shape[1:3]
  if size > height or size > width:
    raise ConfigError(f"config.data.crop_size={size} is larger than the images ({height}x{width})")
  top, left = (height - size) // 2, (width - size) // 2
  return images[:, top:top + size, left:left + size, :]


def resize(images: np.ndarray, size: int, chunk: int = 10_000) -> np.ndarray:
  """Bilinearly resizes float (N, H, W, C) images to (N, size, size, C), antialiased when
  shrinking (torchvision's Resize on PIL images; it rounds to uint8, this keeps floats)."""
  if images.shape[1:3] == (size, size):
    return images
  shape = (size, size, images.shape[-1])
  resize_chunk = jax.jit(lambda x: jax.image.resize(x, (x.shape[0], *shape), "bilinear"))
  # In chunks: the whole training set at once would need its float copy on device twice.
  return np.concatenate([np.asarray(resize_chunk(images[i:i + chunk]))
                         for i in range(0, len(images), chunk)])
