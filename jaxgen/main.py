"""Command line: `python -m jaxgen.main --config=configs/<x>.py --workdir=DIR`.

Override any field with `--config.section.field=value`; `--list` prints what exists.
"""

import os

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from jaxgen import catalog, train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Path to a config .py file.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, checkpoints and figures.")
flags.DEFINE_bool("list", False, "List datasets, models, optimizers, metrics and configs.")


def _quiet_orbax(record) -> bool:
  # orbax reports every save step at INFO; keep jaxgen's own INFO lines readable.
  return "/orbax/" not in record.pathname


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
  train.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  app.run(main)
