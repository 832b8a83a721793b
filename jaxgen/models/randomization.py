"""The CIFAR-10 networks of Zhang et al. (2017), "rethinking generalization", on 28x28x3 inputs.

Parameter counts (exact, as derived in the spec): mlp_1x512 1,209,866; mlp_3x512 1,735,178;
alexnet_small 1,387,786; inception_small and inception_small_nobn 1,649,402.

Initialisers are Flax defaults (lecun_normal kernels, zero biases): the paper's are not
published, and the TF tutorial's truncated normals belong to a different training setup.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.models.mlp import MLP
from jaxgen.models.pooling import max_pool
from jaxgen.models.registry import MODELS

# Local response normalisation constants of the TF CIFAR-10 tutorial (tf.nn.lrn arguments),
# which Small AlexNet follows; the paper does not state them ([UNVERIFIED] in the spec).
LRN_DEPTH_RADIUS = 4
LRN_BIAS = 1.0
LRN_ALPHA = 0.001 / 9.0
LRN_BETA = 0.75

# TF batch norm: epsilon 1e-3, moving averages with momentum 0.99 in Flax's (= Keras') convention.
# (tf.contrib.layers.batch_norm, whose scale=False matches the count, defaults to decay 0.999;
# set `bn_momentum` to use that.)
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3

# Small Inception after the stem Conv(96, 3x3): ("inception", c1, c3) or ("downsample", c3).
INCEPTION_SMALL_STAGES = (
    ("inception", 32, 32), ("inception", 32, 48), ("downsample", 80),
    ("inception", 112, 48), ("inception", 96, 64), ("inception", 80, 80), ("inception", 48, 96),
    ("downsample", 96),
    ("inception", 176, 160), ("inception", 176, 160),
)


def local_response_norm(x: jnp.ndarray, depth_radius: int = LRN_DEPTH_RADIUS,
                        bias: float = LRN_BIAS, alpha: float = LRN_ALPHA,
                        beta: float = LRN_BETA) -> jnp.ndarray:
  """TF `tf.nn.lrn` over the last (channel) axis.

  Args:
    x: array (..., C).
    depth_radius: half-width r of the channel window [c - r, c + r] (clipped at the edges).
    bias: additive constant.
    alpha: scale of the windowed sum of squares (not divided by the window size, as in TF).
    beta: exponent.

  Returns:
    x / (bias + alpha * sum_{c' in window} x[c']^2) ** beta, same shape as x.
  """
  window = (1,) * (x.ndim - 1) + (2 * depth_radius + 1,)
  padding = ((0, 0),) * (x.ndim - 1) + ((depth_radius, depth_radius),)
  sqr_sum = jax.lax.reduce_window(jnp.square(x), 0.0, jax.lax.add, window, (1,) * x.ndim, padding)
  scale = bias + alpha * sqr_sum
  if beta == 0.75:
    # scale^-3/4 = rsqrt(scale) * sqrt(rsqrt(scale)): XLA:CPU's pow (an exp of a log) made
    # the whole normalisation, forward and backward, 2.5-3x slower.
    inverse_root = jax.lax.rsqrt(scale)
    return x * inverse_root * jnp.sqrt(inverse_root)
  return x / scale ** beta


class AlexNetSmall(nn.Module):
  """2 x [Conv5x5(64) -> ReLU -> MaxPool3x3/2 -> LRN] -> Dense 384 -> 192 -> num_classes.

  The spec orders each module conv -> pool -> LRN (the TF tutorial uses norm before pool in the
  second one; the parameter count is the same either way).
  """

  num_classes: int
  lrn: bool = True

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    del train  # No dropout or batch norm.
    for _ in range(2):
      x = nn.relu(nn.Conv(64, (5, 5), padding="SAME")(x))
      x = max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
      if self.lrn:
        x = local_response_norm(x)
    x = x.reshape((x.shape[0], -1))
    x = nn.relu(nn.Dense(384)(x))
    x = nn.relu(nn.Dense(192)(x))
    return nn.Dense(self.num_classes)(x)


class ConvBNReLU(nn.Module):
  """Conv (no bias) -> BN (offset beta only) -> ReLU, or Conv (with bias) -> ReLU without BN."""

  features: int
  kernel_size: int
  strides: int = 1
  batch_norm: bool = True
  bn_momentum: float = BN_MOMENTUM
  bn_epsilon: float = BN_EPSILON

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    k, s = self.kernel_size, self.strides
    x = nn.Conv(self.features, (k, k), strides=(s, s), padding="SAME",
                use_bias=not self.batch_norm)(x)
    if self.batch_norm:
      # No gamma: TF's default batch norm has none, and only beta gives the paper's count.
      x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                       epsilon=self.bn_epsilon, use_scale=False)(x)
    return nn.relu(x)


class InceptionSmall(nn.Module):
  """Small Inception: stem Conv(96, 3x3), Inception/Downsample stages, global mean pool, Dense.

  Inception(c1, c3) = concat[Conv(c1, 1x1), Conv(c3, 3x3)];
  Downsample(c3) = concat[Conv(c3, 3x3, stride 2), MaxPool 3x3/2], both SAME-padded
  (28 -> 14 -> 7, as in the spec).
  """

  num_classes: int
  batch_norm: bool = True
  bn_momentum: float = BN_MOMENTUM
  bn_epsilon: float = BN_EPSILON

  @nn.compact
  def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
    conv = lambda c, k, s=1: ConvBNReLU(c, k, s, self.batch_norm, self.bn_momentum,
                                        self.bn_epsilon)
    x = conv(96, 3)(x, train)
    for stage in INCEPTION_SMALL_STAGES:
      if stage[0] == "inception":
        _, c1, c3 = stage
        x = jnp.concatenate([conv(c1, 1)(x, train), conv(c3, 3)(x, train)], axis=-1)
      else:
        pooled = max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        x = jnp.concatenate([conv(stage[1], 3, 2)(x, train), pooled], axis=-1)
    x = x.mean(axis=(1, 2))
    return nn.Dense(self.num_classes)(x)


@MODELS.register("mlp_1x512")
def mlp_1x512(num_classes: int, width: int = 512) -> nn.Module:
  """MLP with one hidden ReLU layer of `width` units (Zhang et al. MLP 1x512)."""
  return MLP(num_classes, (width,))


@MODELS.register("mlp_3x512")
def mlp_3x512(num_classes: int, width: int = 512) -> nn.Module:
  """MLP with three hidden ReLU layers of `width` units (Zhang et al. MLP 3x512)."""
  return MLP(num_classes, (width,) * 3)


@MODELS.register("alexnet_small")
def alexnet_small(num_classes: int, lrn: bool = True) -> nn.Module:
  """Small AlexNet; `lrn=False` drops the local response normalisation (an ablation)."""
  return AlexNetSmall(num_classes, lrn)


@MODELS.register("inception_small")
def inception_small(num_classes: int, bn_momentum: float = BN_MOMENTUM,
                    bn_epsilon: float = BN_EPSILON) -> nn.Module:
  """Small Inception with batch norm (offset only) after every conv."""
  return InceptionSmall(num_classes, True, bn_momentum, bn_epsilon)


@MODELS.register("inception_small_nobn")
def inception_small_nobn(num_classes: int) -> nn.Module:
  """Small Inception without batch norm: every conv has a bias instead (same count)."""
  return InceptionSmall(num_classes, batch_norm=False)
