"""Command line: `python -m jaxgen.main --config=configs/<x>.py --workdir=DIR`.

Override any field with `--config.section.field=value`; `--list` prints what exists.
A bad flag or config value prints one line and exits 2 (`--verbose` shows the traceback).
"""

import os
import sys

import jax
from absl import app, flags
from ml_collections import config_flags

from jaxgen import catalog, command_line, train
from jaxgen.logging_event import TrainingDivergedError

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Path to a config .py file.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, checkpoints and figures.")
flags.DEFINE_bool("list", False, "List datasets, models, optimizers, metrics and configs.")


def main(argv: list[str]) -> None:
  # Sweeps and resumed runs compile the same programs again: a persistent cache makes that
  # near free. JAX_COMPILATION_CACHE_DIR, if set, takes precedence.
  if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
    jax.config.update("jax_compilation_cache_dir",
                      os.path.expanduser("~/.cache/jaxgen/jax-compilation-cache"))
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if FLAGS.list:
    print(catalog.describe())
    return
  config = command_line.config_flag("config")
  if config is None or FLAGS.workdir is None:
    raise app.UsageError("--config and --workdir are required (or --list).")
  try:
    train.train_and_evaluate(config, FLAGS.workdir)
  except TrainingDivergedError as error:
    if FLAGS.verbose:
      raise
    # The message says what happened and what to change; the stack adds nothing.
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  command_line.run(main)
