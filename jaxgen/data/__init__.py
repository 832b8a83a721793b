"""Datasets held in memory as arrays: sources, splits, preprocessing, augmentation.

`corrupt(images, labels, kind=..., level=..., seed=...)` applies the randomization tests of
Zhang et al. (2017) to any arrays; `load_dataset(config.data)` applies them from a config.
"""

from jaxgen.data.corruptions import CORRUPTIONS, corrupt
from jaxgen.data.pipeline import load_dataset

__all__ = ["CORRUPTIONS", "corrupt", "load_dataset"]
