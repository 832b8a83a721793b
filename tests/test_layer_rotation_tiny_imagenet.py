"""The Tiny ImageNet loader on a miniature `tiny-imagenet-200` folder."""

import os

import numpy as np
import pytest
from PIL import Image

from jaxgen.data.tiny_imagenet import load_tiny_imagenet

# Deliberately not in sorted order: labels must follow wnids.txt.
WNIDS = ["n02", "n00", "n01"]


def _save(path: str, value: int, gray: bool = False) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  if gray:
    Image.fromarray(np.full((64, 64), value, np.uint8)).save(path, "JPEG")  # mode "L"
  else:
    # Encode the value in the red channel only, so RGB order is checked too.
    array = np.zeros((64, 64, 3), np.uint8)
    array[..., 0] = value
    Image.fromarray(array).save(path, "JPEG", quality=100)


def _make_dataset(root: str) -> None:
  """3 classes x 2 train images (red = 100 + 40 * label + i), 3 val images, one grayscale."""
  os.makedirs(root)
  with open(os.path.join(root, "wnids.txt"), "w") as f:
    f.write("\n".join(WNIDS) + "\n")
  for label, wnid in enumerate(WNIDS):
    for i in range(2):
      _save(os.path.join(root, "train", wnid, "images", f"{wnid}_{i}.JPEG"), 100 + 40 * label + i)
  annotations = [("val_0.JPEG", "n01"), ("val_1.JPEG", "n02"), ("val_2.JPEG", "n00")]
  for i, (name, _) in enumerate(annotations):
    _save(os.path.join(root, "val", "images", name), 50 + 60 * i, gray=i == 2)
  with open(os.path.join(root, "val", "val_annotations.txt"), "w") as f:
    f.writelines(f"{name}\t{wnid}\t0\t0\t63\t63\n" for name, wnid in annotations)


@pytest.fixture
def root(tmp_path):
  path = os.path.join(tmp_path, "tiny-imagenet-200")
  _make_dataset(path)
  return path


def test_shapes_dtypes_and_label_order(root):
  data = load_tiny_imagenet(root)
  assert set(data) == {"train", "test"}
  (x_train, y_train), (x_test, y_test) = data["train"], data["test"]
  assert x_train.shape == (6, 64, 64, 3) and x_test.shape == (3, 64, 64, 3)
  assert x_train.dtype == x_test.dtype == np.uint8
  assert y_train.dtype == y_test.dtype == np.int32
  np.testing.assert_array_equal(y_train, [0, 0, 1, 1, 2, 2])
  np.testing.assert_array_equal(y_test, [WNIDS.index("n01"), WNIDS.index("n02"),
                                         WNIDS.index("n00")])
  # JPEG is lossy: compare the decoded red channel with a tolerance.
  np.testing.assert_allclose(x_train[:, 32, 32, 0], [100, 101, 140, 141, 180, 181], atol=3)
  assert int(x_train[:, :, :, 1:].max()) <= 3


def test_grayscale_images_become_rgb(root):
  x_test = load_tiny_imagenet(root)["test"][0]
  gray = x_test[2].astype(int)
  assert abs(gray[32, 32, 0] - 170) <= 3
  assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 0], gray[..., 2])


def test_accepts_the_parent_folder(root):
  assert load_tiny_imagenet(os.path.dirname(root))["train"][0].shape == (6, 64, 64, 3)


def test_missing_folder_names_path_and_layout(tmp_path):
  missing = os.path.join(tmp_path, "nowhere")
  with pytest.raises(FileNotFoundError, match="wnids.txt") as error:
    load_tiny_imagenet(missing)
  assert missing in str(error.value) and "val_annotations.txt" in str(error.value)


def test_missing_class_folder_is_reported(root):
  os.rename(os.path.join(root, "train", "n01"), os.path.join(root, "train", "moved"))
  with pytest.raises(FileNotFoundError, match=r"train.n01.images"):
    load_tiny_imagenet(root)


def test_missing_val_image_is_reported(root):
  os.remove(os.path.join(root, "val", "images", "val_1.JPEG"))
  with pytest.raises(FileNotFoundError, match="val_1.JPEG"):
    load_tiny_imagenet(root)


def test_unknown_val_wnid_is_reported(root):
  with open(os.path.join(root, "val", "val_annotations.txt"), "a") as f:
    f.write("val_0.JPEG\tn99\t0\t0\t63\t63\n")
  with pytest.raises(ValueError, match="n99"):
    load_tiny_imagenet(root)
