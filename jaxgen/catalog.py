"""A listing of everything a config can name, for `python -m jaxgen.main --list`."""

import glob
import inspect
import os

from jaxgen.data.preprocess import NORMALIZATIONS
from jaxgen.data.sources import DATASETS
from jaxgen.metrics import METRICS
from jaxgen.models import MODELS
from jaxgen.optim import OPTIMIZERS, SCHEDULES
from jaxgen.registry import Registry


def _configs(root: str) -> list[str]:
  paths = glob.glob(os.path.join(root, "**", "*.py"), recursive=True)
  return sorted(os.path.relpath(p, os.path.dirname(root)) for p in paths
                if not os.path.basename(p).startswith("_"))


def _entries(registry: Registry) -> list[str]:
  """One line per entry: its name, its settings with their defaults, its summary."""
  lines = []
  for name in registry.names():
    settings = ", ".join(f"{key}={p.default!r}" for key, p in registry.arguments(name).items()
                         if p.default is not inspect.Parameter.empty)
    summary = (inspect.getdoc(registry.get(name)) or "").split("\n")[0]
    lines.append(f"{name}({settings})" + (f"  {summary}" if summary else ""))
  return lines


def describe(config_root: str = "configs") -> str:
  """Registries (each entry with its settings and defaults) and config files."""
  sections = {
      "datasets (config.data.name)": _entries(DATASETS),
      "models (config.model.name; settings are config.model fields)": _entries(MODELS),
      "optimizers (config.optim.name; settings are config.optim fields)": _entries(OPTIMIZERS),
      "schedules (config.optim.schedule)": _entries(SCHEDULES),
      "normalizations (config.data.normalization)": list(NORMALIZATIONS),
      "metrics (config.metrics.names; settings are config.metrics fields)": _entries(METRICS),
      "configs (--config)": _configs(config_root) if os.path.isdir(config_root) else [],
  }
  return "\n".join(f"{title}:\n  " + "\n  ".join(names) for title, names in sections.items())
