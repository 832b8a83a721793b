"""Checksums of a checkpoint's files, recorded once its save is final and verified before it
is read.

orbax detects a checkpoint with missing pieces only when a read happens to need them, and a
changed byte inside array data not at all: it restores silently changed parameters. A
manifest `checksums.json` in each step directory lists every file of the step with its size
and SHA-256, so any flipped, truncated or missing file is found before the state is used.
Checkpoints written before jaxgen recorded checksums have no manifest: they are read as
before, unverified.
"""

import hashlib
import json
import os

from jaxgen import files

MANIFEST = "checksums.json"


class ChecksumError(RuntimeError):
  """A checkpoint's files differ from what was recorded when it was saved."""


def _digest(path: str) -> str:
  with open(path, "rb") as f:
    return hashlib.file_digest(f, "sha256").hexdigest()


def _files(step_dir: str) -> list[str]:
  """The step's files relative to `step_dir`, sorted, without the manifest."""
  found = []
  for root, _, names in os.walk(step_dir):
    for name in names:
      relative = os.path.relpath(os.path.join(root, name), step_dir)
      if relative != MANIFEST and not name.startswith("."):
        found.append(relative)
  return sorted(found)


def record(step_dir: str) -> None:
  """Writes the manifest of the finished checkpoint in `step_dir` (every file's size and
  SHA-256)."""
  manifest = {}
  for relative in _files(step_dir):
    path = os.path.join(step_dir, relative)
    manifest[relative] = {"bytes": os.path.getsize(path), "sha256": _digest(path)}
  files.write_atomic(os.path.join(step_dir, MANIFEST),
                     json.dumps({"version": 1, "files": manifest}, indent=1, sort_keys=True))


def verify(step_dir: str) -> bool:
  """Checks the checkpoint in `step_dir` against its manifest.

  Args:
    step_dir: one step's checkpoint directory.

  Returns:
    True if every recorded file is intact; False if the step has no manifest (written
    before jaxgen recorded checksums, or cut off between its save and its manifest).

  Raises:
    ChecksumError: naming the first file that is missing, of another size, or changed (or an
      unreadable manifest).
  """
  path = os.path.join(step_dir, MANIFEST)
  if not os.path.exists(path):
    return False
  try:
    with open(path) as f:
      recorded = json.load(f)["files"]
  except (ValueError, KeyError, TypeError) as error:
    raise ChecksumError(f"its checksum manifest {path} is unreadable ({error})") from error
  for relative, expected in sorted(recorded.items()):
    file = os.path.join(step_dir, relative)
    if not os.path.exists(file):
      raise ChecksumError(f"file {file} is missing")
    size = os.path.getsize(file)
    if size != expected["bytes"]:
      raise ChecksumError(f"file {file} has {size} bytes, {expected['bytes']} were saved "
                          "(truncated or overwritten)")
    if _digest(file) != expected["sha256"]:
      raise ChecksumError(f"file {file} changed since it was saved (SHA-256 mismatch)")
  return True
