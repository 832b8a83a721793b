"""Runs an absl `main` the way a person expects a command to behave.

- `--help` (`-?`, `--helpshort`, `--helpfull`) prints the usage and exits 0.
- A bad flag, a config override naming no field, a config file that fails to load, or a
  `ConfigError` raised by `main` prints one line, `error: ...`, and exits 2 (the status of a
  usage error); `--verbose` shows the traceback instead.
- Backend probing and orbax's per-save INFO lines are not printed, and log lines carry no
  absl prefix (`quiet_library_logs`).
"""

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import jax
from absl import app, flags
from absl import logging as absl_logging

from jaxgen.config.errors import ConfigError

USAGE_ERROR = 2
_HELP_FLAGS = ("--help", "-help", "-?", "--helpshort", "--helpfull")

flags.DEFINE_bool("verbose", False, "Show the traceback of a config or flag error.")


def use_compilation_cache() -> None:
  """Keeps compiled programs in ~/.cache/jaxgen/jax-compilation-cache (unless the environment
  names another, JAX_COMPILATION_CACHE_DIR): sweeps, resumed runs and requeued jobs compile
  the same programs again, which a persistent cache makes near free."""
  if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    jax.config.update("jax_compilation_cache_dir",
                      os.path.expanduser("~/.cache/jaxgen/jax-compilation-cache"))
  # JAX caches only programs that took a second or more to compile; a run's small programs
  # (init, epoch order, eval, metrics) each take a fraction of one, but together ~2 s a run.
  if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


def quiet_library_logs() -> None:
  """Silences two sources of INFO lines that say nothing to the user of a run, and prints
  log lines without absl's prefix.

  jax logs at INFO every backend it probes and cannot start ("Unable to initialize backend
  'tpu'" on a machine without libtpu); its warnings (e.g. a GPU without CUDA jax) still show.
  orbax logs each checkpoint save and wait at INFO; its warnings still show.
  """
  logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
  handler = absl_logging.get_absl_handler()
  handler.addFilter(_not_orbax_info)
  handler.setFormatter(_PlainFormatter())


def _not_orbax_info(record: logging.LogRecord) -> bool:
  return record.levelno > logging.INFO or "/orbax/" not in record.pathname


class _PlainFormatter(logging.Formatter):
  """An INFO line as its message; others with their level ("WARNING: ..."). absl's default
  prefix (date, time, thread id, file:line) is for log files, not for a person at a terminal."""

  def format(self, record: logging.LogRecord) -> str:
    message = super().format(record)
    return message if record.levelno == logging.INFO else f"{record.levelname}: {message}"


def _verbose(argv: list[str]) -> bool:
  return any(arg in ("--verbose", "--verbose=true", "--verbose=True", "--verbose=1")
             for arg in argv)


def _fail(message: str) -> None:
  print(f"error: {message}", file=sys.stderr)
  sys.exit(USAGE_ERROR)


def _last_line(text: str) -> str:
  return [line for line in text.splitlines() if line.strip()][-1].strip()


def config_flag(name: str = "config") -> Any:
  """The value of a config-file flag; a file that could not be read is a usage error.

  ml_collections defers the error of a missing config file to the first use of its value.
  """
  value = flags.FLAGS[name].value
  try:
    getattr(value, "keys", None)  # The stand-in of a file that failed to load raises here.
    return value
  except OSError as error:
    raise app.UsageError(f"--{name}={flags.FLAGS[name].config_filename}: cannot load it: "
                         f"{_last_line(str(error))}") from error


def _chain(error: BaseException) -> list[BaseException]:
  """`error` and the exceptions it was raised from or while handling, innermost last."""
  chain = [error]
  while (inner := chain[-1].__cause__ or chain[-1].__context__) is not None:
    if inner in chain:
      break
    chain.append(inner)
  return chain


def describe(error: BaseException, argv: list[str]) -> str:
  """One line saying what is wrong with the command line `argv`, from the `error` its
  parsing raised."""
  chain = _chain(error)
  if isinstance(error, flags.Error) and "Traceback (most recent call last)" in str(error):
    # A config file's get_config raised: its own error is the traceback's last line.
    return f"{str(error).splitlines()[0]} {_last_line(str(error))}"
  if isinstance(error, flags.Error | ConfigError):
    return str(error)
  for inner in chain:
    text = inner.args[0] if isinstance(inner, KeyError) and inner.args else None
    if isinstance(text, str):
      # ml_collections: "'name'" or "'name'\nDid you mean "..." instead of "..."?".
      name, _, hint = text.partition("\n")
      name = name.strip("'")
      given = next((arg.split("=", 1)[0] for arg in argv
                    if arg.startswith("--config.") and arg.split("=", 1)[0].endswith(f".{name}")),
                   f"--config...{name}")
      return f"{given}: the config has no field {name!r}." + (f" {hint}" if hint else "")
  for inner in chain:
    if isinstance(inner, FileNotFoundError | ConfigError):
      return f"cannot load the config: {inner}"
  innermost = chain[-1]
  return f"cannot load the config: {type(innermost).__name__}: {innermost}"


def _parse_flags(argv: list[str]) -> Any:
  try:
    return flags.FLAGS(argv)
  except SystemExit as exit_:
    # absl's help flags print the usage and exit 1; asking for help is not an error.
    if exit_.code == 1 and any(arg.split("=")[0] in _HELP_FLAGS for arg in argv[1:]):
      sys.exit(0)
    raise
  except Exception as error:  # Parsing --config.* runs config files and ml_collections code.
    if _verbose(argv):
      raise
    _fail(describe(error, argv))


def run(main: Callable[[list[str]], None]) -> None:
  """`absl.app.run(main)` with the behaviour described in the module docstring."""

  def guarded(argv: list[str]) -> None:
    quiet_library_logs()
    try:
      main(argv)
    except (ConfigError, app.UsageError) as error:
      if flags.FLAGS.verbose:
        raise
      _fail(str(error))

  app.run(guarded, flags_parser=_parse_flags)
