"""Model registry. Importing this package registers every architecture."""

from jaxgen.models import (  # noqa: F401  (importing registers the models)
    cnn,
    diversity,
    hyperplanes,
    layer_rotation,
    mlp,
    randomization,
    rwc,
)
from jaxgen.models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
