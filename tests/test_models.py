"""Every registered model builds, and its parameter paths sort in the order layers are called."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from jaxgen import path_rules
from jaxgen.models import MODELS, build_model

# Input shapes the architectures are defined on; anything else gets CIFAR's 32x32x3.
INPUT_SHAPES = {"tiny_cnn": (64, 64, 3), "mnist_mlp_bn": (28, 28, 1), "mlp_1x512": (28, 28, 3),
                "mlp_3x512": (28, 28, 3), "alexnet_small": (28, 28, 3),
                "inception_small": (28, 28, 3), "inception_small_nobn": (28, 28, 3)}
# Small variants of the largest models keep abstract tracing fast.
KWARGS = {"resnet_v1": {"depth": 8}, "resnet110": {}, "wrn_28_10": {"depth": 10, "width": 1}}


def _init_recording_call_order(name):
  model = build_model(name, num_classes=10, **KWARGS.get(name, {}))
  x = jnp.zeros((2, *INPUT_SHAPES.get(name, (32, 32, 3))))
  called = []

  def record(next_fun, args, kwargs, context):
    if context.method_name == "__call__" and isinstance(context.module, nn.Dense | nn.Conv):
      path = "/".join(context.module.scope.path)
      if path not in called:
        called.append(path)
    return next_fun(*args, **kwargs)

  def init():
    with nn.intercept_methods(record):
      return model.init(jax.random.PRNGKey(0), x, train=False)

  variables = jax.eval_shape(init)
  logits = jax.eval_shape(lambda v: model.apply(v, x, train=False), variables)
  return variables["params"], called, logits


@pytest.mark.parametrize("name", MODELS.names())
def test_model_builds_and_paths_sort_in_call_order(name):
  params, called, logits = _init_recording_call_order(name)
  assert logits.shape == (2, 10)
  layers = [path.removesuffix("/kernel") for path in path_rules.layer_paths(params)]
  assert layers == called
