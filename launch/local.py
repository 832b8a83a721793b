"""Runs a sweep on this machine, one run after another or several at once.

  python -m launch.local --config=configs/backbone/mlp_lr_sweep.py \
      --workdir=/tmp/sweep --seeds=0,1 --parallel=2

Each run gets `workdir/<run name>` and its own log file there (`log.txt`). Runs that finished
(their summary.json exists) are skipped; interrupted ones resume from their latest checkpoint,
since `jaxgen.main` resumes whenever its workdir holds a run. Each run is reported as it
starts and ends, with its time and final test numbers, or its exit status and log file.
Run names round floats to 3 significant digits (more where the sweep needs them to stay
distinct); a sweep begun when names held floats in full keeps its folders (`Run.workdir`).
"""

import concurrent.futures
import os
import shlex
import subprocess
import sys
import threading
import time

from absl import flags

from jaxgen import command_line, console, run_log
from jaxgen.config import ConfigError
from launch.sweep import Run, RunDivergedError, expand, is_finished, parse_fixed

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "A config file that defines get_sweep() (file.py or "
                    "file.py:arg).", required=True)
flags.DEFINE_string("workdir", None, "Root directory; each run gets a subdirectory.",
                    required=True)
flags.DEFINE_list("seeds", None, "Seeds for every setting (default: the config's).")
flags.DEFINE_bool("separate_seeds", False, "One run per seed instead of one run of all the seeds.")
flags.DEFINE_integer("parallel", 1, "How many runs at once.")
flags.DEFINE_bool("dry_run", False, "Print the commands without running them.")
flags.DEFINE_multi_string("set", [], "A fixed override for every run, e.g. "
                          "--set=data.data_dir=/data (repeatable; values as --config.* reads).")


_print_lock = threading.Lock()
_INTERRUPTED = (130, 143)  # jaxgen.main's exit status after SIGINT / SIGTERM.


def _report(message: str) -> None:
  with _print_lock:  # Runs end on several threads at once; keep their lines whole.
    print(message, flush=True)


def final_numbers(workdir: str) -> str:
  """The final eval numbers of a finished run, e.g. "test loss 0.250 acc 87.5%" (seed means
  ±std with several seeds), or why there are none."""
  summary = run_log.read_summary(workdir) or {}
  if "diverged" in summary:
    return "diverged: " + summary["diverged"]
  rows = [row for row in summary.get("final", {}).values() if row["split"] != "train"]
  splits = console.split_values(rows)
  split = "test" if "test" in splits else next(iter(splits), None)
  return f"{split} {splits[split]}" if split else "no eval numbers"


def run_one(run: Run, config_path: str, root: str, label: str = "") -> tuple[str, int]:
  """Runs (or resumes) one run unless it finished; returns (name, exit code).

  A finished run is skipped only if it was trained with the config the sweep gives it now;
  if the config file changed since, the run is reported as failed rather than reused. A run
  that diverged (its summary says so) ended without results: it is reported as failed too.
  Prints a line when the run starts and when it ends, prefixed by `label` (e.g. "3/12").
  """
  workdir = run.workdir(root)
  log_path = os.path.join(workdir, "log.txt")
  try:
    if is_finished(run, config_path, root):
      _report(f"[skip   {label}] {run.name}: finished before; {final_numbers(workdir)}")
      return run.name, 0
  except RunDivergedError as error:
    _report(f"[FAILED {label}] {error}")
    return run.name, 1
  except ConfigError as error:
    _report(f"[FAILED {label}] {error}")
    return run.name, 2
  os.makedirs(workdir, exist_ok=True)
  _report(f"[start  {label}] {run.name}  (log: {log_path})")
  start = time.time()
  with open(log_path, "a") as log:
    process = subprocess.run(run.command(sys.executable, config_path, root), stdout=log,
                             stderr=subprocess.STDOUT, check=False)
  took = console.format_duration(time.time() - start)
  if process.returncode == 0:
    _report(f"[done   {label}] {run.name} in {took}: {final_numbers(workdir)}")
  elif process.returncode in _INTERRUPTED:
    _report(f"[stopped {label}] {run.name}: interrupted after {took} (its checkpoints are "
            "intact); run the sweep again to resume it")
  else:
    _report(f"[FAILED {label}] {run.name}: exit status {process.returncode} after {took}; "
            f"see {log_path}")
  return run.name, process.returncode


def run_sweep(config_path: str, root: str, runs: list[Run], parallel: int) -> dict[str, int]:
  """Runs every run, `parallel` at a time; returns each run's exit code."""
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=parallel)
  try:
    results = dict(pool.map(
        lambda item: run_one(item[1], config_path, root, f"{item[0]}/{len(runs)}"),
        enumerate(runs, start=1)))
  except KeyboardInterrupt:
    # Ctrl-C reached the running runs too (one process group): they stop at a safe point;
    # the queued ones must not start.
    pool.shutdown(wait=True, cancel_futures=True)
    raise
  pool.shutdown()
  return results


def main(argv: list[str]) -> None:
  del argv
  seeds = [int(s) for s in FLAGS.seeds] if FLAGS.seeds else None
  fixed = parse_fixed(FLAGS.set)
  runs = expand(FLAGS.config, seeds, FLAGS.separate_seeds, fixed)
  if FLAGS.dry_run:
    for run in runs:
      # Quoted for a POSIX shell: "--config.seeds=(0, )" runs as printed.
      print(shlex.join(run.command(sys.executable, FLAGS.config, FLAGS.workdir)))
    return
  print(f"{len(runs)} runs in {os.path.abspath(FLAGS.workdir)}, {FLAGS.parallel} at a time.",
        flush=True)
  try:
    codes = run_sweep(FLAGS.config, FLAGS.workdir, runs, FLAGS.parallel)
  except KeyboardInterrupt:
    print("Interrupted; run the same command again to resume the sweep.", file=sys.stderr)
    sys.exit(130)
  failed = [name for name, code in codes.items() if code]
  print(f"{len(codes) - len(failed)} of {len(codes)} runs finished"
        + (f"; failed: {', '.join(failed)}" if failed else "."))
  if failed:
    sys.exit(1)


if __name__ == "__main__":
  command_line.run(main)
