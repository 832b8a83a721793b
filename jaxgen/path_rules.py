"""Parameter paths ("Conv_0/kernel") and (regex, value) rules over them.

Layer-wise choices (which leaves are "layers", learning-rate multipliers, weight-decay masks)
are expressed as rules over "/"-joined parameter paths rather than as code in modules.
"""

import re
from collections.abc import Sequence
from typing import Any

import jax

from jaxgen.config.errors import ConfigError

PyTree = Any

# Leaves that count as "layers" for layer-wise metrics and optimizers: conv and dense kernels.
KERNEL_RULE = r"(^|.*/)kernel$"


def path_to_str(path: tuple) -> str:
  """Joins a jax key path into "Module_0/Sub_1/kernel"."""
  parts = []
  for key in path:
    if isinstance(key, jax.tree_util.DictKey):
      parts.append(str(key.key))
    elif isinstance(key, jax.tree_util.GetAttrKey):
      parts.append(key.name)
    elif isinstance(key, jax.tree_util.SequenceKey):
      parts.append(str(key.idx))
    else:
      parts.append(str(key))
  return "/".join(parts)


def natural_key(path: str) -> tuple:
  """Sort key under which "Dense_2" precedes "Dense_10"."""
  return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path))


def flatten(tree: PyTree) -> dict[str, Any]:
  """Returns {path: leaf} in network order.

  jax flattens dicts in sorted key order, and any jit, vmap or checkpoint round trip
  rebuilds them that way, so insertion (definition) order cannot be relied on. Network order
  is therefore the natural sort of the paths: flax's automatic names ("Conv_0", "Conv_1",
  ..., "Dense_0") sort in call order for plain stacks; models whose module names would not
  (e.g. residual blocks beside a final Dense) name their modules so that they do, and
  `tests/test_models.py` checks this against the actual call order for every model.
  """
  leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
  items = [(path_to_str(path), leaf) for path, leaf in leaves]
  return dict(sorted(items, key=lambda item: natural_key(item[0])))


def map_with_path(fn, tree: PyTree, *rest: PyTree) -> PyTree:
  """`jax.tree.map` where `fn(path_str, leaf, *rest_leaves)` also receives the path."""
  return jax.tree_util.tree_map_with_path(
      lambda path, leaf, *r: fn(path_to_str(path), leaf, *r), tree, *rest)


def matches(pattern: str, path: str) -> bool:
  """Whether a rule's regex matches the whole path."""
  return re.fullmatch(pattern, path) is not None


def mask(tree: PyTree, pattern: str = KERNEL_RULE) -> PyTree:
  """A boolean pytree: True where the leaf's path matches `pattern`."""
  return map_with_path(lambda path, _: matches(pattern, path), tree)


def layer_paths(tree: PyTree, pattern: str = KERNEL_RULE) -> list[str]:
  """The paths that count as layers, in network order."""
  return [path for path in flatten(tree) if matches(pattern, path)]


def layers(tree: PyTree, pattern: str = KERNEL_RULE) -> dict[str, Any]:
  """{path: leaf} of the leaves that count as layers, in network order."""
  return {path: leaf for path, leaf in flatten(tree).items() if matches(pattern, path)}


def resolve_rules(tree: PyTree, rules: Sequence[tuple[str, Any]], field: str) -> PyTree:
  """Assigns each leaf the value of the first rule whose regex matches its path.

  Raises ConfigError if some leaf is matched by no rule, so that no parameter is silently
  left out of a layer-wise setting.
  """

  def value(path, _):
    for pattern, val in rules:
      if matches(pattern, path):
        return val
    raise ConfigError(
        f"config.{field}: parameter {path!r} is matched by no rule "
        f"(rules: {[p for p, _ in rules]}); add a catch-all rule such as ('.*', ...)")

  return map_with_path(value, tree)
