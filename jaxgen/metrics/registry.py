"""The per-layer metrics a run can log (`config.metrics.names`), fed from `config.metrics`.

Each entry is `fn(params, reference, **settings) -> {layer path: value}`, registered with the
reference it compares against: "initial" (the parameters at step 0), "previous" (those at
the previous logging event) or None. The trainer keeps a reference copy of the parameters
only when a configured metric declares it.
"""

from jaxgen import path_rules
from jaxgen.metrics.diversity import weight_correlations
from jaxgen.metrics.hyperplanes import projection_mass, projection_mean
from jaxgen.metrics.layer_rotation import layer_rotation, step_rotation
from jaxgen.metrics.rwc import relative_weight_change
from jaxgen.registry import Registry

PyTree = path_rules.PyTree
KERNEL_RULE = path_rules.KERNEL_RULE

METRICS: Registry = Registry("metric", field="metrics.names", runtime_args=("params", "reference"))


def references(names) -> set[str]:
  """The reference parameters ("initial", "previous") that the metrics `names` compare with."""
  return {METRICS.metadata(name)["reference"] for name in names} - {None}


@METRICS.register("layer_rotation", reference="initial")
def _layer_rotation(params: PyTree, reference: PyTree, layer_rule: str = KERNEL_RULE) -> dict:
  return layer_rotation(params, reference, layer_rule)


@METRICS.register("relative_weight_change", reference="previous")
def _relative_weight_change(params: PyTree, reference: PyTree, layer_rule: str = KERNEL_RULE,
                            rwc_variant: str = "l1_ratio") -> dict:
  return relative_weight_change(params, reference, rwc_variant, layer_rule)


# Per-interval rotation: with train.log_every_steps=1 the per-step rotations that
# optim.copy_rotation_from reads back.
@METRICS.register("step_rotation", reference="previous")
def _step_rotation(params: PyTree, reference: PyTree, layer_rule: str = KERNEL_RULE) -> dict:
  return step_rotation(params, reference, layer_rule)


# Gamba et al.'s projection statistics of the current filters (no reference).
@METRICS.register("projection_mass", reference=None)
def _projection_mass(params: PyTree, reference: None, layer_rule: str = KERNEL_RULE,
                     projection_with_linear: bool = False) -> dict:
  del reference
  return projection_mass(params, layer_rule, projection_with_linear)


@METRICS.register("projection_mean", reference=None)
def _projection_mean(params: PyTree, reference: None, layer_rule: str = KERNEL_RULE,
                     projection_with_linear: bool = False) -> dict:
  del reference
  return projection_mean(params, layer_rule, projection_with_linear)


# Blumenfeld et al.'s weight correlations of the current kernels (no reference).
def _register_correlation(kind: str) -> None:
  def correlation(params: PyTree, reference: None, layer_rule: str = KERNEL_RULE) -> dict:
    del reference
    return weight_correlations(params, kind, layer_rule)

  METRICS.register(f"{kind}_correlation", reference=None)(correlation)


for _kind in ("forward", "backward", "kernel"):
  _register_correlation(_kind)
