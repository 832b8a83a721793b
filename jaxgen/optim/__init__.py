"""Optimizers as optax transforms: Layca, layer-wise multipliers, Keras-semantics base steps,
gradient noise, learning-rate schedules, and the registry that builds them from a config."""

from jaxgen.optim.gradient_noise import add_gradient_noise
from jaxgen.optim.keras import (
    add_keras_l2,
    keras_base_step,
    keras_l2_to_decoupled,
    sgd_normalized,
)
from jaxgen.optim.layer_rotation import layca, rotation_to_rate, scale_by_layca
from jaxgen.optim.multipliers import alpha_multipliers, layerwise_multipliers, multiplier_tree
from jaxgen.optim.optimizers import OPTIMIZERS, build_optimizer, decoupled_weight_decay
from jaxgen.optim.schedules import SCHEDULES, build_schedule

__all__ = ["OPTIMIZERS", "SCHEDULES", "add_gradient_noise", "add_keras_l2", "alpha_multipliers",
           "build_optimizer", "build_schedule", "decoupled_weight_decay", "keras_base_step",
           "keras_l2_to_decoupled", "layca", "layerwise_multipliers", "multiplier_tree",
           "rotation_to_rate", "scale_by_layca", "sgd_normalized"]
