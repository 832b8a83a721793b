"""Per-layer metrics over parameter pytrees, and the registry the trainer reads.

Each registered metric is `fn(params, reference_params, config) -> {path: value}` together
with which reference it compares against: the initial parameters, those at the previous
measurement, or none.
"""

import dataclasses
from collections.abc import Callable

import ml_collections

from jaxgen.metrics.diversity import diversity, weight_correlations
from jaxgen.metrics.hyperplanes import (
    distance_from_init,
    filter_projections,
    projection_mass,
    projection_mean,
    projection_statistics,
)
from jaxgen.metrics.weights import (
    RWC_VARIANTS,
    layer_rotation,
    relative_weight_change,
    step_rotation,
)
from jaxgen.registry import Registry

__all__ = ["METRICS", "Metric", "RWC_VARIANTS", "distance_from_init", "diversity",
           "filter_projections", "layer_rotation", "projection_mass", "projection_mean",
           "projection_statistics", "relative_weight_change", "step_rotation",
           "weight_correlations"]


@dataclasses.dataclass(frozen=True)
class Metric:
  """A per-layer metric and the parameters it is measured against."""

  fn: Callable[..., dict]
  reference: str  # "initial", "previous" or "none"

  def __call__(self, params, initial_params, previous_params,
               config: ml_collections.ConfigDict) -> dict:
    reference = initial_params if self.reference == "initial" else previous_params
    return self.fn(params, reference, config)


METRICS: Registry[Metric] = Registry("metric", field="metrics.names")
METRICS.register("layer_rotation")(Metric(
    lambda p, ref, c: layer_rotation(p, ref, c.layer_rule), reference="initial"))
METRICS.register("relative_weight_change")(Metric(
    lambda p, ref, c: relative_weight_change(p, ref, c.rwc_variant, c.layer_rule),
    reference="previous"))
# Per-interval rotation: with train.log_every_steps=1 the per-step rotations that
# optim.copy_rotation_from reads back.
METRICS.register("step_rotation")(Metric(
    lambda p, ref, c: step_rotation(p, ref, c.layer_rule), reference="previous"))
# Gamba et al.'s projection statistics of the current filters (no reference).
METRICS.register("projection_mass")(Metric(
    lambda p, _, c: projection_mass(p, c.layer_rule, c.projection_with_linear), reference="none"))
METRICS.register("projection_mean")(Metric(
    lambda p, _, c: projection_mean(p, c.layer_rule, c.projection_with_linear), reference="none"))
# Blumenfeld et al.'s weight correlations (no reference): "forward_correlation", ...
for _kind in ("forward", "backward", "kernel"):
  METRICS.register(f"{_kind}_correlation")(Metric(
      lambda p, _, c, kind=_kind: weight_correlations(p, kind, c.layer_rule), reference="none"))
