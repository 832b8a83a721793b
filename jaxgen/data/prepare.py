"""Downloads and prepares a tfds dataset in the array_record format that jaxgen reads.

  python -m jaxgen.data.prepare cifar10 --data_dir=~/tensorflow_datasets

Training reads tfds datasets with `tfds.data_source`, which needs array_record files (it cannot
read TFRecord, what `tfds build` writes by default) and never downloads. This command
is the one place that downloads: run it once on a machine with network access, then train
with `--config.data.name=cifar10 --config.data.data_dir=<the same data_dir>` (or copy the
folder). Preparing needs TensorFlow, which tfds uses to encode the images; training does not:
`pip install -e ".[prepare]"` installs it.
"""

import os
import sys

from absl import app, flags

from jaxgen.config.errors import ConfigError
from jaxgen.data.sources import TFDS_DATASETS, is_prepared, prepare_command

INSTALL_TENSORFLOW = 'pip install -e ".[prepare]"  (or: pip install "tensorflow>=2.18,<3")'


def _has_image_features(feature) -> bool:
  import tensorflow_datasets as tfds

  if isinstance(feature, tfds.features.Image):
    return True
  if isinstance(feature, tfds.features.FeaturesDict):
    children = feature.values()
  else:  # A Sequence holds its element's feature; leaf features hold none.
    children = [feature.feature] if isinstance(feature, tfds.features.Sequence) else []
  return any(_has_image_features(child) for child in children)


def needs_tensorflow(builder) -> bool:
  """Whether writing `builder`'s examples needs TensorFlow (tfds encodes images with it)."""
  return _has_image_features(builder.info.features)


def prepare(name: str, data_dir: str = "") -> str:
  """Downloads tfds dataset `name` and writes it as array_record under `data_dir`.

  Args:
    name: a tfds dataset name (jaxgen's are `TFDS_DATASETS`).
    data_dir: the tfds data directory ("" for tfds' default, ~/tensorflow_datasets).

  Returns:
    The folder the dataset was written to.

  Raises:
    ConfigError: if TensorFlow is needed and missing (saying how to install it), or if the
      dataset is already prepared there in another format.
  """
  import tensorflow_datasets as tfds

  data_dir = os.path.expanduser(data_dir) if data_dir else None
  builder = tfds.builder(name, data_dir=data_dir, file_format="array_record")
  if is_prepared(builder):
    found = builder.info.file_format.value
    if found != "array_record":
      raise ConfigError(
          f"{name} is already prepared in {builder.data_dir} as {found}, which "
          "tfds.data_source cannot read; delete that folder or choose another --data_dir.")
    return builder.data_dir
  if needs_tensorflow(builder):
    try:
      import tensorflow  # noqa: F401
    except ImportError as error:
      raise ConfigError(
          f"preparing {name} needs TensorFlow, which tfds uses to encode its images (training "
          f"on the prepared data does not); install it with {INSTALL_TENSORFLOW}") from error
  builder.download_and_prepare(file_format="array_record")
  return builder.data_dir


def main(argv: list[str]) -> None:
  if len(argv) != 2 or argv[1] not in TFDS_DATASETS:
    raise app.UsageError(
        f"name one dataset to prepare: {prepare_command('NAME', 'DIR')}, "
        f"NAME one of {', '.join(TFDS_DATASETS)} (got {' '.join(argv[1:]) or 'none'})")
  name, data_dir = argv[1], flags.FLAGS.data_dir
  try:
    where = prepare(name, data_dir)
  except OSError as error:  # requests' ConnectionError is one, as are full disks.
    print(f"error: preparing {name} failed: {error}. The download needs network access: "
          "prepare on a machine that has it and copy the data_dir here.", file=sys.stderr)
    sys.exit(1)
  print(f"{name} is prepared in {where} (array_record). Train on it with "
        f"--config.data.name={name}"
        + (f" --config.data.data_dir={data_dir}" if data_dir else "") + ".", file=sys.stdout)


if __name__ == "__main__":
  from jaxgen import command_line

  # Defined only when run as a command: importing this module must not add flags.
  flags.DEFINE_string("data_dir", "", "tfds data directory to write into (default: tfds' "
                      "own, ~/tensorflow_datasets); train with --config.data.data_dir=<it>.")
  command_line.run(main)
