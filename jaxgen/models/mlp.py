"""Multi-layer perceptron with optional BatchNorm."""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxgen.models.registry import MODELS


class MLP(nn.Module):
  """Flatten -> [Dense -> (BatchNorm) -> ReLU] per hidden width -> Dense(num_classes)."""

  num_classes: int
  widths: Sequence[int] = (512,)
  batch_norm: bool = False
  dropout_rate: float = 0.0

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    x = x.reshape((x.shape[0], -1))
    for width in self.widths:
      x = nn.Dense(width)(x)
      if self.batch_norm:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
      x = nn.relu(x)
      if self.dropout_rate:
        x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_classes)(x)


@MODELS.register("mlp")
def mlp(num_classes: int, widths: Sequence[int] = (512,), batch_norm: bool = False,
        dropout_rate: float = 0.0) -> nn.Module:
  """ReLU MLP with hidden layers of `widths` units (optional BatchNorm and dropout)."""
  return MLP(num_classes, tuple(widths), batch_norm, dropout_rate)
