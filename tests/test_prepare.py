"""`python -m jaxgen.data.prepare`: writes array_record files that a run reads back.

The datasets jaxgen knows have image features, which tfds encodes with TensorFlow; jaxgen
does not install TensorFlow, so the full path is exercised on a tiny builder whose images are
plain uint8 tensors (same builder call, same writer, same reader), and the image datasets
are checked to ask for TensorFlow before downloading anything.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from jaxgen.config import ConfigError
from jaxgen.data import prepare, sources

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class JaxgenTestDigits(tfds.core.GeneratorBasedBuilder):
  """Nine 8x8 uint8 'images' with labels 0..2: 6 train, 3 test."""

  VERSION = tfds.core.Version("1.0.0")

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        "image": tfds.features.Tensor(shape=(8, 8, 1), dtype=np.uint8),
        "label": tfds.features.ClassLabel(num_classes=3)}))

  def _split_generators(self, dl_manager):
    del dl_manager  # Nothing to download.
    return {"train": self._generate_examples(0, 6), "test": self._generate_examples(6, 3)}

  def _generate_examples(self, start, count):
    for i in range(start, start + count):
      yield i, {"image": np.full((8, 8, 1), 10 * i, np.uint8), "label": i % 3}


@pytest.fixture
def no_network(monkeypatch):
  def refuse(*args, **kwargs):
    raise AssertionError("tried to reach the network")

  monkeypatch.setattr("socket.socket.connect", refuse)


def test_prepare_writes_array_record_that_data_source_and_a_run_read(tmp_path, no_network):
  where = prepare.prepare("jaxgen_test_digits", str(tmp_path))
  assert where == str(tmp_path / "jaxgen_test_digits" / "1.0.0")
  assert sorted(name for name in os.listdir(where) if "array_record" in name) == [
      "jaxgen_test_digits-test.array_record-00000-of-00001",
      "jaxgen_test_digits-train.array_record-00000-of-00001"]
  train = tfds.data_source("jaxgen_test_digits", split="train", data_dir=str(tmp_path),
                           download=False)
  assert len(train) == 6
  assert sorted(int(example["image"][0, 0, 0]) for example in train) == [0, 10, 20, 30, 40, 50]
  # What a run does with a tfds dataset: sources' reader gives (N, H, W, C) images.
  images, labels = sources._tfds_split("jaxgen_test_digits", "test", str(tmp_path))
  assert images.shape == (3, 8, 8, 1) and sorted(labels.tolist()) == [0, 1, 2]
  # Preparing again finds it there and does nothing.
  modified = os.path.getmtime(os.path.join(where, "dataset_info.json"))
  assert prepare.prepare("jaxgen_test_digits", str(tmp_path)) == where
  assert os.path.getmtime(os.path.join(where, "dataset_info.json")) == modified


@pytest.mark.parametrize("name", sorted(sources.TFDS_DATASETS))
def test_image_datasets_ask_for_tensorflow_before_downloading(name, tmp_path, no_network,
                                                               monkeypatch):
  monkeypatch.setitem(sys.modules, "tensorflow", None)  # As where it is not installed.
  with pytest.raises(ConfigError, match=rf"preparing {name} needs TensorFlow.*"
                     r'pip install -e "\.\[prepare\]"'):
    prepare.prepare(name, str(tmp_path))
  assert not os.path.exists(tmp_path / "downloads")


def test_command_line_names_the_datasets_it_prepares():
  failed = subprocess.run([sys.executable, "-m", "jaxgen.data.prepare", "imagenet"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
  assert failed.returncode == 2
  assert failed.stderr.splitlines() == [
      "error: name one dataset to prepare: python -m jaxgen.data.prepare NAME --data_dir=DIR, "
      "NAME one of mnist, fashion_mnist, cifar10, cifar100, svhn_cropped (got imagenet)"]
