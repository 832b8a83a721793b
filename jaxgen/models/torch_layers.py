"""PyTorch-compatible layers: default inits, symmetric conv padding, BatchNorm2d defaults.

The relative-weight-change, hyperplane and diversity models are ports of PyTorch code; these
helpers give them PyTorch's layer semantics in flax.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

# PyTorch's default conv/linear weight init, kaiming_uniform(a=sqrt(5)): U(±1/sqrt(fan_in)).
TORCH_KERNEL_INIT = nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform")
# VGG convs (bearpaw-style init): N(0, sqrt(2 / (kh * kw * out_channels))), not truncated.
VGG_CONV_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")
VGG_DENSE_INIT = nn.initializers.normal(stddev=0.01)
# PyTorch BatchNorm2d defaults: momentum 0.1 in PyTorch's convention, eps 1e-5, gamma 1, beta 0.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5



def torch_bias_init(fan_in: int) -> nn.initializers.Initializer:
  """PyTorch's default bias init U(±1/sqrt(fan_in)).

  flax passes a bias initializer only the bias shape, so the fan-in (in_features, or
  in_channels * kh * kw for a conv) is bound here where the layer's input is known.

  Args:
    fan_in: the layer's fan-in.

  Returns:
    A flax initializer.
  """
  bound = 1 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def torch_conv(x: jnp.ndarray, features: int, kernel: int, strides: int = 1,
               use_bias: bool = True, name: str | None = None,
               kernel_init: nn.initializers.Initializer = TORCH_KERNEL_INIT,
               bias_init: nn.initializers.Initializer | None = None) -> jnp.ndarray:
  """Applies a PyTorch-style `Conv2d(kernel, stride, padding=(kernel - 1) // 2)` to `x`.

  Must be called inside a compact module. The padding is symmetric, as in PyTorch: for the
  stride-2 3x3 convs flax's "SAME" would pad (0, 1) instead of (1, 1).

  Args:
    x: NHWC input.
    features: output channels.
    kernel: square kernel size.
    strides: stride in both spatial dimensions.
    use_bias: whether the conv has a bias.
    name: module name.
    kernel_init: kernel initializer; PyTorch's default U(±1/sqrt(fan_in)) unless given.
    bias_init: bias initializer; PyTorch's default U(±1/sqrt(in_channels * kernel**2))
      unless given.

  Returns:
    The conv output.
  """
  if bias_init is None:
    bias_init = torch_bias_init(x.shape[-1] * kernel * kernel)
  pad = (kernel - 1) // 2
  return nn.Conv(features, (kernel, kernel), strides=(strides, strides),
                 padding=((pad, pad), (pad, pad)), use_bias=use_bias, kernel_init=kernel_init,
                 bias_init=bias_init, name=name)(x)


def torch_dense(x: jnp.ndarray, features: int, name: str | None = None) -> jnp.ndarray:
  """Applies a PyTorch-default `Linear` (weight and bias U(±1/sqrt(in_features))) to `x`."""
  return nn.Dense(features, kernel_init=TORCH_KERNEL_INIT,
                  bias_init=torch_bias_init(x.shape[-1]), name=name)(x)


def batch_norm(train: bool, name: str) -> nn.BatchNorm:
  """PyTorch BatchNorm2d defaults (affine, gamma 1, beta 0)."""
  return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                      name=name)
