"""Runs a sweep on this machine, one run after another or several at once.

  python -m launch.local --config=configs/backbone/mlp_lr_sweep.py \
      --workdir=/tmp/sweep --seeds=0,1 --parallel=2

Each run gets `workdir/<run name>` and its own log file there. Runs that finished (their
summary.json exists) are skipped; interrupted ones resume from their latest checkpoint, since
`jaxgen.main` resumes whenever its workdir holds a run.
"""

import concurrent.futures
import os
import subprocess
import sys

from absl import app, flags

from jaxgen.config import ConfigError
from launch.sweep import Run, RunDivergedError, expand, is_finished, parse_fixed

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "A config file that defines get_sweep() (file.py or "
                    "file.py:arg).", required=True)
flags.DEFINE_string("workdir", None, "Root directory; each run gets a subdirectory.",
                    required=True)
flags.DEFINE_list("seeds", None, "Seeds for every setting (default: the config's).")
flags.DEFINE_bool("separate_seeds", False, "One run per seed instead of vmapping the seeds.")
flags.DEFINE_integer("parallel", 1, "How many runs at once.")
flags.DEFINE_bool("dry_run", False, "Print the commands without running them.")
flags.DEFINE_multi_string("set", [], "A fixed override for every run, e.g. "
                          "--set=data.data_dir=/data (repeatable; values as --config.* reads).")


def run_one(run: Run, config_path: str, root: str) -> tuple[str, int]:
  """Runs (or resumes) one run unless it finished; returns (name, exit code).

  A finished run is skipped only if it was trained with the config the sweep gives it now;
  if the config file changed since, the run is reported as failed rather than reused. A run
  that diverged (its summary says so) ended without results: it is reported as failed too.
  """
  workdir = os.path.join(root, run.name)
  try:
    if is_finished(run, config_path, root):
      return run.name, 0
  except RunDivergedError as error:
    print(error, file=sys.stderr)
    return run.name, 1
  except ConfigError as error:
    print(error, file=sys.stderr)
    return run.name, 2
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "log.txt"), "a") as log:
    process = subprocess.run(run.command(sys.executable, config_path, root), stdout=log,
                             stderr=subprocess.STDOUT, check=False)
  return run.name, process.returncode


def run_sweep(config_path: str, root: str, runs: list[Run], parallel: int) -> dict[str, int]:
  """Runs every run, `parallel` at a time; returns each run's exit code."""
  with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool:
    results = pool.map(lambda run: run_one(run, config_path, root), runs)
    return dict(results)


def main(argv: list[str]) -> None:
  del argv
  seeds = [int(s) for s in FLAGS.seeds] if FLAGS.seeds else None
  fixed = parse_fixed(FLAGS.set)
  runs = expand(FLAGS.config, seeds, FLAGS.separate_seeds, fixed)
  if FLAGS.dry_run:
    for run in runs:
      print(" ".join(run.command(sys.executable, FLAGS.config, FLAGS.workdir)))
    return
  codes = run_sweep(FLAGS.config, FLAGS.workdir, runs, FLAGS.parallel)
  for name, code in codes.items():
    print(f"{'ok    ' if code == 0 else 'FAILED'} {name}")
  if any(codes.values()):
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
