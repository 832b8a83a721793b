"""A listing of everything a config can name, for `python -m jaxgen.main --list`."""

import glob
import os

from jaxgen import metrics, models
from jaxgen.data.preprocess import NORMALIZATIONS
from jaxgen.data.sources import DATASETS
from jaxgen.optim.optimizers import OPTIMIZERS
from jaxgen.optim.schedules import SCHEDULES


def _configs(root: str) -> list[str]:
  paths = glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
  return sorted(os.path.relpath(p, os.path.dirname(root)) for p in paths
                if not os.path.basename(p).startswith("_"))


def describe(config_root: str = "configs") -> str:
  """Registries and config files, one section each."""
  sections = {
      "datasets (config.data.name)": DATASETS.names(),
      "models (config.model.name)": models.MODELS.names(),
      "optimizers (config.optim.name)": OPTIMIZERS.names(),
      "schedules (config.optim.schedule)": SCHEDULES.names(),
      "normalizations (config.data.normalization)": list(NORMALIZATIONS),
      "metrics (config.metrics.names)": metrics.METRICS.names(),
      "configs (--config)": _configs(config_root) if os.path.isdir(config_root) else [],
  }
  return "\n".join(f"{title}:\n  " + "\n  ".join(names) for title, names in sections.items())
