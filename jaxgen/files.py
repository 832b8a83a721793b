"""Writing a run's small files (config.json, metrics.jsonl, summary.json) so that a process
killed mid-write never leaves a truncated or half-old file behind."""

import os


def write_atomic(path: str, text: str) -> None:
  """Replaces the file at `path` by `text` in one step.

  The text goes to a temporary file in the same directory (a rename is atomic only within
  one file system), is flushed to disk, and then renamed over `path`: a reader, or a run
  resumed after a kill at any moment, sees either the old file or the new one, whole.

  Args:
    path: the file to write.
    text: its new content.
  """
  directory = os.path.dirname(os.path.abspath(path))
  temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp")
  with open(temporary, "w") as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(temporary, path)
  # The rename itself is durable only once the directory is flushed too.
  descriptor = os.open(directory, os.O_RDONLY)
  try:
    os.fsync(descriptor)
  finally:
    os.close(descriptor)
