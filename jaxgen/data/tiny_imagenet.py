"""Tiny ImageNet (200 classes, 64x64x3) read from the standard `tiny-imagenet-200` folder.

The layout (as distributed at cs231n.stanford.edu/tiny-imagenet-200.zip):

  tiny-imagenet-200/
    wnids.txt                      one WordNet id per line; line order = label order
    train/<wnid>/images/*.JPEG     500 images per class
    val/images/*.JPEG              10,000 images
    val/val_annotations.txt        "<file>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>" per line

The labelled `val` split serves as the test set (the `test` split has no labels). The
layer-rotation paper's loader was not published (spec §1), so this is the usual reading.
"""

import os

import numpy as np
from PIL import Image

IMAGE_SHAPE = (64, 64, 3)
LAYOUT = (
    "expected the standard tiny-imagenet-200 layout: wnids.txt, train/<wnid>/images/*.JPEG, "
    "val/images/*.JPEG and val/val_annotations.txt (tab-separated: file, wnid, bbox); "
    "download and unzip http://cs231n.stanford.edu/tiny-imagenet-200.zip")


def _require(path: str) -> str:
  """Returns `path`, or raises FileNotFoundError naming it and the expected layout."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"Tiny ImageNet: {path!r} does not exist; {LAYOUT}")
  return path


def _read_images(paths: list[str]) -> np.ndarray:
  """Decodes JPEGs into one preallocated (N, 64, 64, 3) uint8 array; grayscale becomes RGB."""
  images = np.empty((len(paths), *IMAGE_SHAPE), np.uint8)
  for i, path in enumerate(paths):
    with Image.open(path) as image:
      # Some images are grayscale ("L"); convert("RGB") replicates the channel.
      array = np.asarray(image.convert("RGB"))
    if array.shape != IMAGE_SHAPE:
      raise ValueError(f"Tiny ImageNet: {path!r} has shape {array.shape}, not {IMAGE_SHAPE}")
    images[i] = array
  return images


def _resolve_root(root: str) -> str:
  """Accepts the `tiny-imagenet-200` folder itself or the folder that contains it."""
  nested = os.path.join(root, "tiny-imagenet-200")
  if not os.path.exists(os.path.join(root, "wnids.txt")) and os.path.isdir(nested):
    return nested
  return root


def load_tiny_imagenet(root: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Loads the labelled Tiny ImageNet splits into memory.

  Decoding all 110,000 JPEGs takes about a minute and 1.3 GB of memory.

  Args:
    root: the `tiny-imagenet-200` folder, or a folder that contains it.

  Returns:
    {"train": (images, labels), "test": (images, labels)} with uint8 images of shape
    (N, 64, 64, 3) and int32 labels indexing the classes in `wnids.txt` order. "test" is the
    official validation split. Train images are ordered by class, then file name.

  Raises:
    FileNotFoundError: a file or folder of the layout is missing (the message names it).
    ValueError: an image is not 64x64 or an annotation names an unknown wnid.
  """
  root = _resolve_root(root)
  with open(_require(os.path.join(root, "wnids.txt"))) as f:
    wnids = [line.strip() for line in f if line.strip()]
  label_of = {wnid: i for i, wnid in enumerate(wnids)}

  train_paths, train_labels = [], []
  for wnid in wnids:
    folder = _require(os.path.join(root, "train", wnid, "images"))
    files = sorted(name for name in os.listdir(folder) if name.lower().endswith(".jpeg"))
    if not files:
      raise FileNotFoundError(f"Tiny ImageNet: no *.JPEG images in {folder!r}; {LAYOUT}")
    train_paths += [os.path.join(folder, name) for name in files]
    train_labels += [label_of[wnid]] * len(files)

  val_folder = _require(os.path.join(root, "val", "images"))
  test_paths, test_labels = [], []
  with open(_require(os.path.join(root, "val", "val_annotations.txt"))) as f:
    for line in f:
      if not line.strip():
        continue
      fields = line.rstrip("\n").split("\t")
      if len(fields) < 2:
        raise ValueError(f"Tiny ImageNet: malformed line in val_annotations.txt: {line!r}; "
                         f"{LAYOUT}")
      name, wnid = fields[:2]
      if wnid not in label_of:
        raise ValueError(f"Tiny ImageNet: val_annotations.txt names {wnid!r} for {name!r}, "
                         "which is not in wnids.txt")
      test_paths.append(_require(os.path.join(val_folder, name)))
      test_labels.append(label_of[wnid])

  return {
      "train": (_read_images(train_paths), np.asarray(train_labels, np.int32)),
      "test": (_read_images(test_paths), np.asarray(test_labels, np.int32)),
  }
