"""Model registry. Importing this package registers every architecture."""

from jaxgen.models import cnn, mlp  # noqa: F401  (registration side effects)
from jaxgen.models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
