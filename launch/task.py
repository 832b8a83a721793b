"""The array task of `launch.slurm`: one run, trained in the job's process.

It lives apart from `launch.slurm` so that submitit pickles it by reference (the job imports
this module) rather than by value, as it would a class of the `__main__` module.
"""

import logging as std_logging

import ml_collections
import submitit
from absl import flags, logging

from jaxgen import command_line, train


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
    command_line.use_compilation_cache()
    train.train_and_evaluate(self.config, self.workdir)
    return self.workdir


def _log_to_task_output() -> None:
  """Sends jaxgen's INFO log (absl) to the task's output, as `jaxgen.main` would."""
  # No flags are parsed in a task; marking them parsed stops absl's "before flag parsing" note.
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  command_line.quiet_library_logs()  # As jaxgen.main: no backend probing or orbax INFO lines.
  absl_logger = logging.get_absl_logger()
  absl_logger.addHandler(logging.get_absl_handler())
  # submitit has its own handler; through the root logger its lines would appear twice.
  absl_logger.propagate = False
  std_logging.getLogger("submitit").propagate = False
  logging.set_verbosity(logging.INFO)
