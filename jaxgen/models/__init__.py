"""Model registry. Importing this package registers every architecture."""

from jaxgen.models import cnn, diversity, gamba, layer_rotation, mlp, rwc, zhang2017  # noqa: F401
from jaxgen.models.registry import MODELS, build_model

__all__ = ["MODELS", "build_model"]
