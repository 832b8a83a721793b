"""Command line: `python -m jaxgen.main --config=configs/<x>.py --workdir=DIR`.

Override any field with `--config.section.field=value`; `--list` prints what exists.
A bad flag or config value prints one line and exits 2 (`--verbose` shows the traceback).
Ctrl-C or SIGTERM stops the run at its next safe point and prints how to resume.

One run over several processes (one per GPU or host): start every process with
`--distributed` (under `srun` JAX detects the rest; by hand, add `--coordinator_address`,
`--num_processes` and `--process_id`). These are launch settings, not part of the config, so
a run may resume with another process count.
"""

import os
import shlex
import shutil
import sys

from absl import app, flags
from ml_collections import config_flags

from jaxgen import catalog, command_line, distributed, interrupts, train
from jaxgen.logging_event import TrainingDivergedError

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Path to a config .py file.",
                                lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for logs, checkpoints and figures.")
flags.DEFINE_bool("list", False, "List datasets, models, optimizers, metrics and configs.")
flags.DEFINE_bool("distributed", False,
                  "Run over several processes with jax.distributed (off by default: it fails "
                  "on a machine that only looks like a cluster). Under srun, nothing else is "
                  "needed; by hand, also give the three flags below.")
flags.DEFINE_string("coordinator_address", None,
                    "With --distributed: host:port of process 0, reachable from every process.")
flags.DEFINE_integer("num_processes", None, "With --distributed: how many processes.")
flags.DEFINE_integer("process_id", None,
                     "With --distributed: this process's index in [0, num_processes).")
_LAUNCH_FLAGS = ("coordinator_address", "num_processes", "process_id")


def _same_command() -> str:
  """This process's command line, as a shell runs it again."""
  python = sys.executable
  on_path = shutil.which("python")
  # Compared unresolved: a venv's python links to the system one, without its packages.
  if on_path and os.path.abspath(on_path) == os.path.abspath(python):
    python = "python"  # The interpreter a bare `python` finds: say it the short way.
  return shlex.join([python, "-m", "jaxgen.main", *sys.argv[1:]])


def main(argv: list[str]) -> None:
  command_line.use_compilation_cache()
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  if FLAGS.list:
    print(catalog.describe())
    return
  config = command_line.config_flag("config")
  if config is None or FLAGS.workdir is None:
    raise app.UsageError("--config and --workdir are required (or --list).")
  given = [name for name in _LAUNCH_FLAGS if FLAGS[name].value is not None]
  if given and not FLAGS.distributed:
    raise app.UsageError(f"--{', --'.join(given)}: used only with --distributed.")
  if FLAGS.distributed:
    distributed.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
  try:
    train.train_and_evaluate(config, FLAGS.workdir)
  except TrainingDivergedError as error:
    if FLAGS.verbose:
      raise
    # The message says what happened and what to change; the stack adds nothing.
    if distributed.is_primary():  # One message for the run, not one per process.
      print(f"error: {error}", file=sys.stderr)
    sys.exit(1)
  except KeyboardInterrupt as error:  # SIGINT or SIGTERM, after the run's clean-up.
    if not isinstance(error, interrupts.Interrupted):
      error = interrupts.Interrupted(interrupts.signal_of(error))
    if distributed.is_primary():
      print(f"{error.describe()}; re-run the same command to resume: {_same_command()}",
            file=sys.stderr, flush=True)
    sys.exit(error.exit_code)


if __name__ == "__main__":
  command_line.run(main)
