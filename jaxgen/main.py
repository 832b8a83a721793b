"""Command line: `python -m jaxgen.main --config=configs/<x>.py --workdir=DIR`.

Override any field with `--config.section.field=value`; `--list` prints what exists.
"""

import os
import shlex
import shutil
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from jaxgen import catalog, interrupts, train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Path to a config .py file.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, checkpoints and figures.")
flags.DEFINE_bool("list", False, "List datasets, models, optimizers, metrics and configs.")


def _quiet_orbax(record) -> bool:
  # orbax reports every save step at INFO; keep jaxgen's own INFO lines readable.
  return "/orbax/" not in record.pathname


def _same_command() -> str:
  """This process's command line, as a shell runs it again."""
  python = sys.executable
  on_path = shutil.which("python")
  # Compared unresolved: a venv's python links to the system one, without its packages.
  if on_path and os.path.abspath(on_path) == os.path.abspath(python):
    python = "python"  # The interpreter a bare `python` finds: say it the short way.
  return shlex.join([python, "-m", "jaxgen.main", *sys.argv[1:]])


def main(argv: list[str]) -> None:
  logging.get_absl_handler().addFilter(_quiet_orbax)
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
  if FLAGS.config is None or FLAGS.workdir is None:
    raise app.UsageError("--config and --workdir are required (or --list).")
  try:
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except KeyboardInterrupt as error:  # SIGINT or SIGTERM, after the run's clean-up.
    if not isinstance(error, interrupts.Interrupted):
      error = interrupts.Interrupted(interrupts.signal_of(error))
    print(f"{error.describe()}; re-run the same command to resume: {_same_command()}",
          file=sys.stderr, flush=True)
    sys.exit(error.exit_code)


if __name__ == "__main__":
  app.run(main)
