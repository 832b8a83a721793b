"""The command line of every analysis:

  python -m jaxgen.analysis.<study> [SUBCOMMAND] PATH [PATH ...] [--out=DIR]

PATH is a run or a sweep directory (see `runs.find_runs`); figures and tables go to DIR,
by default the `figures/` folder of the first PATH. A study's own flags are defined, like
--out, only when it runs as a script: flags defined at import clash when tests or notebooks
import two modules that define the same name.
"""

import dataclasses
import os
from collections.abc import Callable, Sequence

from absl import app, flags

from jaxgen import command_line


@dataclasses.dataclass(frozen=True)
class Invocation:
  """A parsed command line: the subcommand (None for a study without any), the paths and
  the --out folder (None when not given)."""

  command: str | None
  paths: list[str]
  out: str | None = None

  def output(self, name: str, path: str | None = None) -> str:
    """Where to write the file `name`: in --out, else in `path`'s (default: the first
    PATH's) figures/ folder."""
    return os.path.join(self.out or os.path.join(path or self.paths[0], "figures"), name)


def usage(program: str, subcommands: Sequence[str] = ()) -> str:
  """The one-line usage of an analysis with these subcommands."""
  command = f"{{{'|'.join(subcommands)}}} " if subcommands else ""
  return f"usage: {program} {command}PATH [PATH ...] [--out=DIR]"


def text_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
  """Left-aligned columns as wide as their widest cell, two spaces apart, header first."""
  lines = [tuple(header), *map(tuple, lines)]
  widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
  return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                   .rstrip() for line in lines)


def parse(argv: Sequence[str], subcommands: Sequence[str] = (), out: str | None = None,
          extra_paths: Sequence[str] = ()) -> Invocation:
  """Parses the positional arguments that absl leaves (argv[0] is the program).

  Args:
    argv: the program, then [SUBCOMMAND] PATH...
    subcommands: the study's subcommands; empty if it has none.
    out: the --out flag.
    extra_paths: paths given by flags (e.g. randomization's --sweep_dir), after the
      positional ones.

  Returns:
    The Invocation.

  Raises:
    app.UsageError: for a missing or unknown subcommand, or no path.
  """
  program, arguments = argv[0], list(argv[1:])
  command = None
  if subcommands:
    if not arguments or arguments[0] not in subcommands:
      raise app.UsageError(usage(program, subcommands))
    command = arguments.pop(0)
  paths = arguments + [path for path in extra_paths if path]
  if not paths:
    raise app.UsageError(usage(program, subcommands))
  return Invocation(command, paths, out)


def run(analyse: Callable[[Invocation], None], subcommands: Sequence[str] = (),
        path_flags: Sequence[str] = ()) -> None:
  """Defines --out, parses the command line and calls `analyse`; for `__main__` only.

  Args:
    analyse: the study's main, called with the parsed Invocation.
    subcommands: the study's subcommands, if any.
    path_flags: names of flags that give a PATH too (kept for older commands).
  """
  flags.DEFINE_string("out", None, "Folder for the figures and tables "
                      "(default: <first PATH>/figures).")
  for name in path_flags:
    flags.DEFINE_string(name, None, "A PATH given as a flag (same as a positional PATH).")

  def main(argv: list[str]) -> None:
    extra = [flags.FLAGS[name].value for name in path_flags]
    analyse(parse(argv, subcommands, flags.FLAGS.out, extra))

  # --help exits 0, a usage error is one line with status 2, orbax's INFO lines are not shown.
  command_line.run(main)
