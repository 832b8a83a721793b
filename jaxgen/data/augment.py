"""On-device input transforms: random or central crops, flips, per-image standardisation."""

import jax
import jax.numpy as jnp
import ml_collections

from jaxgen.data.preprocess import center_crop


def per_image_standardize(images: jnp.ndarray) -> jnp.ndarray:
  """(x - mean(x)) / max(std(x), 1/sqrt(#elements)) per image, as TF's per_image_standardization."""
  axes = tuple(range(1, images.ndim))
  mean = images.mean(axis=axes, keepdims=True)
  std = images.std(axis=axes, keepdims=True)
  num_elements = images[0].size
  return (images - mean) / jnp.maximum(std, 1.0 / jnp.sqrt(num_elements))


def random_crop(key: jax.Array, images: jnp.ndarray, size: int, padding: int,
                pad_mode: str) -> jnp.ndarray:
  """A random size x size crop of every image after padding it by `padding` pixels."""
  if padding:
    pad = ((0, 0), (padding, padding), (padding, padding), (0, 0))
    images = jnp.pad(images, pad, mode=pad_mode)
  n, height, width, channels = images.shape
  tops = jax.random.randint(key, (n,), 0, height - size + 1)
  lefts = jax.random.randint(jax.random.fold_in(key, 1), (n,), 0, width - size + 1)

  def crop_one(image, top, left):
    return jax.lax.dynamic_slice(image, (top, left, 0), (size, size, channels))

  return jax.vmap(crop_one)(images, tops, lefts)


def random_flip(key: jax.Array, images: jnp.ndarray) -> jnp.ndarray:
  """Flips each image left-right with probability 1/2."""
  flip = jax.random.bernoulli(key, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1, :], images)


def prepare_inputs(images: jnp.ndarray, key: jax.Array | None, train: bool,
                   data: ml_collections.ConfigDict,
                   augment: ml_collections.ConfigDict) -> jnp.ndarray:
  """Crops (randomly when training with augmentation), flips, and standardises per image.

  Args:
    images: float (N, H, W, C) images, already normalised dataset-wide.
    key: PRNG key for the augmentation; unused when `train` is False.
    train: whether to apply the training augmentation.
    data: `config.data` (uses `crop_size`, 0 meaning the full image, and `normalization`).
    augment: `config.augment` (`random_crop`, `crop_padding`, `pad_mode`, `flip`).

  Returns:
    The model's input batch.
  """
  size = data.crop_size or images.shape[1]
  if train and augment.random_crop:
    crop_key, flip_key = jax.random.split(key)
    images = random_crop(crop_key, images, size, augment.crop_padding, augment.pad_mode)
  else:
    flip_key = key
    if size != images.shape[1]:
      images = center_crop(images, size)
  if train and augment.flip:
    images = random_flip(flip_key, images)
  if data.normalization == "per_image":
    images = per_image_standardize(images)
  return images
