"""One process per workdir: a lock file that a second run on the same workdir finds taken.

Two processes training into one workdir would interleave their metrics rows and race on the
checkpoints. `WorkdirLock` takes an exclusive `fcntl.flock` on `workdir/run.lock` and writes
its pid there; the kernel releases the lock when the process ends, however it ends, so a
killed run never leaves a stale lock. Only the primary process of a multi-process run takes
it (they all share the workdir).
"""

import contextlib
import fcntl
import os

from jaxgen.config.errors import ConfigError

LOCK_FILE = "run.lock"


class WorkdirBusyError(ConfigError):
  """Another process is running in the workdir (a ConfigError: the --workdir is unusable)."""


def _holder(path: str) -> str:
  try:
    with open(path) as f:
      pid = f.read().strip()
  except OSError:
    pid = ""
  return f"process {pid}" if pid else "another process"


class WorkdirLock:
  """The exclusive lock on a workdir, held from `acquire` to `release`.

  Attributes:
    created: the directories `acquire` created, deepest first (the workdir and any missing
      parents; `release(undo=True)` removes them).
  """

  def __init__(self, workdir: str, enabled: bool = True):
    """A lock on `workdir`; not `enabled` (a non-primary process), acquiring it only
    creates the workdir."""
    self._enabled = enabled
    self._workdir = workdir
    self._path = os.path.join(workdir, LOCK_FILE)
    self._fd: int | None = None
    self._created_file = False
    self.created: list[str] = []

  def acquire(self) -> None:
    """Takes the lock, creating the workdir if needed.

    Raises:
      WorkdirBusyError: at once, naming the pid of the process that holds it.
    """
    missing = os.path.abspath(self._workdir)
    self.created = []
    while not os.path.exists(missing):
      self.created.append(missing)
      missing = os.path.dirname(missing)
    os.makedirs(self._workdir, exist_ok=True)
    if not self._enabled:
      return
    while True:
      self._created_file = not os.path.exists(self._path)
      fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
      try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
      except BlockingIOError:
        os.close(fd)
        raise WorkdirBusyError(
            f"workdir {os.path.abspath(self._workdir)} is in use by {_holder(self._path)} "
            f"(it holds {self._path}); wait for that run to end, stop it, or use another "
            "--workdir.") from None
      # The file may have been removed by `release(undo=True)` of its last holder between our
      # open and flock: then our lock is on an orphan, so try again on the new file.
      try:
        same = os.stat(self._path).st_ino == os.fstat(fd).st_ino
      except FileNotFoundError:
        same = False
      if same:
        break
      os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    self._fd = fd

  def release(self, undo: bool = False) -> None:
    """Releases the lock; with `undo`, also removes the lock file and the workdir if this
    lock created them (and the workdir is otherwise empty), leaving no trace of a run that
    never started."""
    if self._fd is not None:
      if undo and self._created_file:
        with contextlib.suppress(OSError):
          os.remove(self._path)
      os.close(self._fd)  # Closing the descriptor releases the flock.
      self._fd = None
    for directory in self.created if undo else ():
      try:
        os.rmdir(directory)  # Only if empty: never removes anything else.
      except OSError:
        break
