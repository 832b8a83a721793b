"""The model registry: `name -> builder(num_classes, **kwargs) -> flax.linen.Module`.

Every registered module is called as `module(x, train: bool)` on NHWC (or flat) float inputs
and returns logits. BatchNorm statistics live in the "batch_stats" collection and dropout
draws from the "dropout" rng stream.
"""

from collections.abc import Callable

import flax.linen as nn

from jaxgen.registry import Registry

ModelBuilder = Callable[..., nn.Module]

MODELS: Registry[ModelBuilder] = Registry("model", field="model.name",
                                          runtime_args=("num_classes",))


def build_model(name: str, num_classes: int, **kwargs) -> nn.Module:
  """Builds the registered model `name` with `kwargs` from `config.model`."""
  return MODELS.get(name)(num_classes=num_classes, **kwargs)
