"""Ending a run cleanly on Ctrl-C (SIGINT) or SIGTERM (what a scheduler sends).

While a run trains, either signal is recorded and raised as `Interrupted` (a
KeyboardInterrupt) at the run's next safe point: after its setup and after each chunk of
steps (at latest the next epoch end or logging event), and never inside a `critical()` block
(starting a checkpoint save, waiting for saves at the end), so no half-started save is left;
a second signal outside such a block raises at once. The trainer then waits for the
checkpoint save in progress, and `jaxgen.main` prints how to
resume and exits with 128 + the signal number. A handler that someone else installed
(submitit routes SLURM's SIGTERM to its own requeue logic) is left in place; SIGUSR2 is never
touched.
"""

import contextlib
import signal
import threading
from collections.abc import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
  """A run stopped by SIGINT or SIGTERM; its checkpoints are intact and it can resume.

  Attributes:
    signum: the signal received.
    step: the steps the run had taken (None if training had not started).
    epoch: the epochs the run had completed (fractional between epoch ends), as the
      progress lines count them.
    num_epochs: the run's length in epochs.
  """

  def __init__(self, signum: int, step: int | None = None, epoch: float = 0,
               num_epochs: int = 0):
    self.signum, self.step, self.epoch, self.num_epochs = signum, step, epoch, num_epochs
    super().__init__(self.describe())

  def describe(self) -> str:
    """"Interrupted at step S (epoch e/E)" (or "before training started")."""
    if self.step is None:
      return "Interrupted before training started"
    epoch = round(self.epoch, 2)
    epoch = int(epoch) if epoch == int(epoch) else epoch
    return f"Interrupted at step {self.step} (epoch {epoch}/{self.num_epochs})"

  @property
  def exit_code(self) -> int:
    """The shell's convention for a process ended by this signal: 130 (SIGINT), 143 (SIGTERM)."""
    return 128 + self.signum


def signal_of(error: KeyboardInterrupt) -> int:
  """The signal behind a KeyboardInterrupt (SIGINT for Python's own)."""
  return getattr(error, "signum", signal.SIGINT)


class InterruptGuard:
  """Installs the SIGINT/SIGTERM handlers for the duration of a `with` block (main thread
  only: elsewhere Python cannot install handlers, and nothing changes).

  With `agree` (a run over several processes), every safe point passes this process's
  pending signal (0 if none) to `agree`, a collective that returns the one all processes act
  on, so all of them stop at the same point (a process that stopped alone would leave the
  others waiting in their next collective).
  """

  def __init__(self, agree: Callable[[int], int] | None = None):
    self._agree = agree
    self._previous: dict[int, object] = {}
    self._depth = 0
    self._pending: int | None = None
    self._where: dict[str, float] = {}

  def at(self, step: int, events) -> None:
    """Records the run's progress (steps taken; `events`: its EventSchedule) for the message
    of an interruption."""
    num_epochs = events.total_steps // events.steps_per_epoch
    self._where = {"step": step, "num_epochs": num_epochs,
                   "epoch": step / events.steps_per_epoch}

  def __enter__(self) -> "InterruptGuard":
    if threading.current_thread() is threading.main_thread():
      defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
      for signum in SIGNALS:
        if signal.getsignal(signum) is defaults[signum]:
          self._previous[signum] = signal.signal(signum, self._handle)
    return self

  def __exit__(self, *exc) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
    self._previous.clear()

  def _handle(self, signum: int, frame) -> None:
    del frame
    # Raising here could land in a garbage-collection callback or a __del__, where Python
    # prints the exception and drops it: the first signal is only recorded, and raised by
    # `check` at the run's next safe point; a second one, outside a critical block, raises
    # at once (for a user who does not want to wait for that point).
    if self._pending is None:
      self._pending = signum
    elif not self._depth:
      raise Interrupted(signum, **self._where)

  def check(self) -> None:
    """Raises `Interrupted` if a signal came since the last check (call at safe points)."""
    signum = self._pending or 0
    if self._agree is not None:
      signum = self._agree(signum)
    if signum:
      self._pending = None
      raise Interrupted(signum, **self._where)

  @contextlib.contextmanager
  def critical(self):
    """A block during which a second signal waits too; at its end a signal that came raises
    `Interrupted`, unless the block is already ending with an exception (blocks may nest)."""
    self._depth += 1
    try:
      yield
    except BaseException:
      self._depth -= 1
      if not self._depth:
        self._pending = None  # The block's own exception already ends the run.
      raise
    self._depth -= 1
    if not self._depth:
      self.check()
