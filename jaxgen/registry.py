"""Name -> builder registries, one contract for all of them.

Every entry is a builder whose configurable settings are typed keyword arguments with their
defaults beside the builder; a config section feeds them by name. The arguments a caller
supplies at run time (a model's `num_classes`, an optimizer's learning-rate schedule, a
metric's parameters) are the registry's `runtime_args` and never come from the config.

  OPTIMIZERS = Registry("optimizer", field="optim.name", runtime_args=("learning_rate",))

  @OPTIMIZERS.register("sgd")
  def sgd(learning_rate, momentum: float = 0.9, nesterov: bool = False): ...

  OPTIMIZERS.build("sgd", config.optim, learning_rate=schedule)  # momentum from config.optim
"""

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from jaxgen.config.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
  """Maps names to builders; `get` and `build` fail with the list of valid choices.

  Attributes:
    kind: what an entry is, for messages ("model").
    field: the config field that names an entry ("model.name").
    runtime_args: builder arguments supplied by the caller, not by the config.
  """

  def __init__(self, kind: str, field: str, runtime_args: Sequence[str] = ()):
    self.kind = kind
    self.field = field
    self.runtime_args = tuple(runtime_args)
    self._entries: dict[str, T] = {}
    self._metadata: dict[str, dict[str, Any]] = {}

  def register(self, name: str, **metadata: Any) -> Callable[[T], T]:
    """Decorator registering a builder under `name`, with optional metadata (e.g. which
    reference parameters a metric compares against)."""

    def decorator(obj: T) -> T:
      if name in self._entries:
        raise ValueError(f"{self.kind} {name!r} is registered twice")
      self._entries[name] = obj
      self._metadata[name] = metadata
      return obj

    return decorator

  def get(self, name: str) -> T:
    """Returns the entry for `name` or raises ConfigError naming the field and choices."""
    if name not in self._entries:
      raise ConfigError(
          f"config.{self.field}={name!r} is not a known {self.kind}; "
          f"valid choices: {', '.join(self.names())}")
    return self._entries[name]

  def metadata(self, name: str) -> dict[str, Any]:
    """The metadata `name` was registered with."""
    self.get(name)
    return self._metadata[name]

  def arguments(self, name: str) -> dict[str, inspect.Parameter]:
    """The builder's config arguments (every parameter but the runtime ones), by name."""
    parameters = inspect.signature(self.get(name)).parameters
    return {key: p for key, p in parameters.items()
            if key not in self.runtime_args and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}

  def defaults(self) -> dict[str, Any]:
    """The default of every config argument of every entry (the config schema of this
    registry's fields). Raises ValueError where two entries disagree on a default."""
    merged: dict[str, Any] = {}
    for name in self.names():
      for key, parameter in self.arguments(name).items():
        if parameter.default is inspect.Parameter.empty:
          continue
        if key in merged and merged[key] != parameter.default:
          raise ValueError(f"{self.kind} {name!r} gives {key} the default "
                           f"{parameter.default!r}; another entry gives {merged[key]!r}")
        merged[key] = parameter.default
    return merged

  def kwargs(self, name: str, section: Mapping[str, Any]) -> dict[str, Any]:
    """The builder's config arguments found in `section`."""
    return {key: section[key] for key in self.arguments(name) if key in section}

  def build(self, name: str, section: Mapping[str, Any], /, *args: Any, **runtime: Any) -> Any:
    """Calls the builder of `name` with its config arguments read from `section` (those the
    section lacks keep the builder's defaults) and the caller's runtime arguments."""
    return self.get(name)(*args, **runtime, **self.kwargs(name, section))

  def check_arguments(self, name: str, kwargs: Mapping[str, Any], prefix: str) -> None:
    """Raises ConfigError for a key of `kwargs` that is not a config argument of `name`.

    Args:
      name: the chosen entry.
      kwargs: the settings given for it (e.g. `config.model` without its name).
      prefix: the config section's dotted path, for messages ("model").
    """
    valid = list(self.arguments(name))  # Signature order.
    for key in kwargs:
      if key not in valid:
        raise ConfigError(f"config.{prefix}.{key} is not an argument of {self.kind} {name!r}; "
                          f"valid arguments: {', '.join(valid)}")

  def names(self) -> list[str]:
    """The registered names, sorted."""
    return sorted(self._entries)

  def __contains__(self, name: str) -> bool:
    return name in self._entries

  def __iter__(self) -> Iterator[str]:
    return iter(self.names())
