"""Name -> builder registries with errors that list the valid choices."""

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
  """A configuration value is invalid; the message names the field and the choices."""


class Registry(Generic[T]):
  """Maps names to objects (usually builders); `get` fails with the list of choices.

  Example:
    MODELS = Registry("model", field="model.name")

    @MODELS.register("mlp")
    def mlp(num_classes, **kw): ...
  """

  def __init__(self, kind: str, field: str):
    self.kind = kind
    self.field = field
    self._entries: dict[str, T] = {}

  def register(self, name: str) -> Callable[[T], T]:
    """Decorator registering `obj` under `name`."""

    def decorator(obj: T) -> T:
      if name in self._entries:
        raise ValueError(f"{self.kind} {name!r} is registered twice")
      self._entries[name] = obj
      return obj

    return decorator

  def get(self, name: str) -> T:
    """Returns the entry for `name` or raises ConfigError naming the field and choices."""
    if name not in self._entries:
      raise ConfigError(
          f"config.{self.field}={name!r} is not a known {self.kind}; "
          f"valid choices: {', '.join(self.names())}")
    return self._entries[name]

  def names(self) -> list[str]:
    return sorted(self._entries)

  def __contains__(self, name: str) -> bool:
    return name in self._entries

  def __iter__(self) -> Iterator[str]:
    return iter(self.names())
