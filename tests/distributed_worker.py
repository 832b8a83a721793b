"""`python tests/distributed_worker.py <jaxgen.main flags> [--hang_at_step=N --hang_marker=F]
[--sigterm_at_step=N]`: `python -m jaxgen.main` for tests/test_distributed.py.

With `--hang_at_step=N`, every process stops after the logging event of step N as if frozen,
once the checkpoints started so far are complete: process 0 writes the step to
`--hang_marker`, and the test kills the processes there (mid-epoch, with metrics.jsonl rows
past the last checkpoint, as a real kill leaves it). With `--sigterm_at_step=N`, process 1
alone sends itself SIGTERM after the logging event of step N.
"""

import os
import signal
import time

import jax
from absl import app, flags

from jaxgen import checkpoints, distributed, logging_event
from jaxgen import main as jaxgen_main

flags.DEFINE_integer("hang_at_step", None, "Freeze every process after this step's event.")
flags.DEFINE_string("hang_marker", None, "Process 0 writes the step here once frozen.")
flags.DEFINE_integer("sigterm_at_step", None, "Process 1 sends itself SIGTERM at this step.")
FLAGS = flags.FLAGS

_managers = []
_save = checkpoints.save
_after_steps = logging_event.EventLogger.after_steps


def _recording_save(manager, step, state):
  _managers.append(manager)
  _save(manager, step, state)


def _after_steps_or_hang(self, state, step, num_steps, active):
  result = _after_steps(self, state, step, num_steps, active)
  if step == FLAGS.sigterm_at_step and jax.process_index() == 1:
    os.kill(os.getpid(), signal.SIGTERM)
  if step == FLAGS.hang_at_step:
    _managers[-1].wait_until_finished()
    distributed.barrier("hang")  # No process is still inside a collective when killed.
    if distributed.is_primary():
      with open(FLAGS.hang_marker, "w") as f:
        f.write(str(step))
    time.sleep(3600)
  return result


if __name__ == "__main__":
  checkpoints.save = _recording_save
  logging_event.EventLogger.after_steps = _after_steps_or_hang
  app.run(jaxgen_main.main)
