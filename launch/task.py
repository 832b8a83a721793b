"""The array task of `launch.slurm`: one run, trained in the job's process.

It lives apart from `launch.slurm` so that submitit pickles it by reference (the job imports
this module) rather than by value, as it would a class of the `__main__` module.
"""

import logging as std_logging
import os

import jax
import ml_collections
import submitit
from absl import flags, logging

from jaxgen import train


class TrainRun(submitit.helpers.Checkpointable):
  """One array task: trains (or resumes) one run of the sweep in this process.

  Being Checkpointable, submitit requeues it with the same arguments on preemption or timeout;
  the run's checkpoints, not this object, carry the progress.
  """

  def __init__(self, config: ml_collections.ConfigDict, workdir: str):
    self.config = config
    self.workdir = workdir

  def __call__(self) -> str:
    _log_to_task_output()
    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
      jax.config.update("jax_compilation_cache_dir",
                        os.path.expanduser("~/.cache/jaxgen/jax-compilation-cache"))
    train.train_and_evaluate(self.config, self.workdir)
    return self.workdir


def _log_to_task_output() -> None:
  """Sends jaxgen's INFO log (absl) to the task's output, as `jaxgen.main` would."""
  # No flags are parsed in a task; marking them parsed stops absl's "before flag parsing" note.
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  handler = logging.get_absl_handler()
  # As jaxgen.main: orbax's per-save INFO lines would drown jaxgen's.
  handler.addFilter(lambda record: "/orbax/" not in record.pathname)
  absl_logger = logging.get_absl_logger()
  absl_logger.addHandler(handler)
  # submitit has its own handler; through the root logger its lines would appear twice.
  absl_logger.propagate = False
  std_logging.getLogger("submitit").propagate = False
  logging.set_verbosity(logging.INFO)
