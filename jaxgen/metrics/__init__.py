"""Per-layer metrics: pure functions of parameter pytrees, one module per study.

Usable inside jit during training (through the `METRICS` registry and `config.metrics`) and
offline on checkpointed parameters alike.
"""

from jaxgen.metrics.diversity import diversity_score, weight_correlations
from jaxgen.metrics.hyperplanes import (
    distance_from_init,
    filter_projections,
    projection_mass,
    projection_mean,
    projection_statistics,
)
from jaxgen.metrics.layer_rotation import layer_rotation, step_rotation
from jaxgen.metrics.registry import METRICS, references
from jaxgen.metrics.rwc import RWC_VARIANTS, relative_weight_change

__all__ = ["METRICS", "RWC_VARIANTS", "distance_from_init", "diversity_score",
           "filter_projections", "layer_rotation", "projection_mass", "projection_mean",
           "projection_statistics", "references", "relative_weight_change", "step_rotation",
           "weight_correlations"]
