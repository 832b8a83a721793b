"""A small convolutional network, the default model of the backbone."""

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxgen.models.pooling import max_pool
from jaxgen.models.registry import MODELS


class SmallCNN(nn.Module):
  """[Conv3x3 -> (BN) -> ReLU -> MaxPool2] per width -> Dense(hidden) -> ReLU -> Dense."""

  num_classes: int
  widths: Sequence[int] = (32, 64)
  hidden: int = 128
  batch_norm: bool = False

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    for width in self.widths:
      x = nn.Conv(width, (3, 3), padding="SAME")(x)
      if self.batch_norm:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
      x = nn.relu(x)
      x = max_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape((x.shape[0], -1))
    x = nn.relu(nn.Dense(self.hidden)(x))
    return nn.Dense(self.num_classes)(x)


@MODELS.register("small_cnn")
def small_cnn(num_classes: int, widths: Sequence[int] = (32, 64), hidden: int = 128,
              batch_norm: bool = False) -> nn.Module:
  """The default's small CNN: 3x3 convs of `widths` filters, each followed by 2x2 max-pool,
  then a dense layer of `hidden` units."""
  return SmallCNN(num_classes, tuple(widths), hidden, batch_norm)
