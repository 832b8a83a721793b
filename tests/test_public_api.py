"""The package-level API: every name a package lists in `__all__` imports."""

import importlib

import pytest

PACKAGES = ("jaxgen.config", "jaxgen.data", "jaxgen.metrics", "jaxgen.models", "jaxgen.optim")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_imports(package):
  module = importlib.import_module(package)
  assert module.__all__, package
  for name in module.__all__:
    assert getattr(module, name) is not None, f"{package}.{name}"


def test_the_layer_rotation_optimizer_api_is_at_package_level():
  from jaxgen.optim import layca, layerwise_multipliers, scale_by_layca

  assert callable(layca) and callable(scale_by_layca) and callable(layerwise_multipliers)
