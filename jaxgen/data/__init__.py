"""Datasets held in memory as arrays: sources, splits, preprocessing, augmentation.

`corrupt(images, labels, kind=..., level=..., seed=...)` applies the randomization tests of
Zhang et al. (2017) to any arrays; `load_dataset(config.data)` applies them from a config.
"""

from jaxgen.data.corruptions import CORRUPTIONS, corrupt
from jaxgen.data.pipeline import Dataset, Split, load_dataset
from jaxgen.data.sources import DATASETS, RawDataset

__all__ = ["CORRUPTIONS", "DATASETS", "Dataset", "RawDataset", "Split", "corrupt",
           "load_dataset"]
