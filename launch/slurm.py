"""Submits a sweep to SLURM as one job array, through submitit.

  python -m launch.slurm --config=configs/backbone/mlp_lr_sweep.py --workdir=/shared/sweep \
      --seeds=0,1 --partition=gpu --time=120 --gpus=1 --cpus=8 --mem=32 --sbatch=account=lab
  python -m launch.status /shared/sweep

The sweep expands as in `launch.local` (same run names, `--seeds`, `--separate_seeds`, `--set`);
each run is one array task that trains `workdir/<run name>` in-process. A task is a submitit
`Checkpointable`: on preemption or when its time limit nears, SLURM sends it USR2 (submitit asks
for it `--signal_delay` seconds before the limit), submitit requeues it, and the requeued task
resumes from the run's latest checkpoint, ending with the parameters of an uninterrupted run.
Runs that finished are skipped, and so are runs whose job is still queued or running; a run that
finished with another config is refused. Logs: `workdir/slurm_logs/<job id>/`; the job ids are
recorded in `workdir/slurm_jobs.jsonl` for `launch.status`.

Several runs can share one GPU only where the cluster lets jobs share GPUs (gres/shard, MPS,
or GPUs SLURM does not manage); then `--mem_fraction=0.3` makes each run's JAX take 30% of the
GPU's memory (XLA_PYTHON_CLIENT_MEM_FRACTION) instead of preallocating 75%.
"""

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

import ml_collections
import submitit
from absl import app, flags

from jaxgen import command_line
from jaxgen import config as config_lib
from launch import jobs
from launch.sweep import Run, RunDivergedError, expand, is_finished, parse_fixed
from launch.task import TrainRun

FLAGS = flags.FLAGS
flags.DEFINE_string("config", None, "A config file that defines get_sweep() (file.py or "
                    "file.py:arg).", required=True)
flags.DEFINE_string("workdir", None, "Root directory on a filesystem the nodes share; each run "
                    "gets a subdirectory.", required=True)
flags.DEFINE_list("seeds", None, "Seeds for every setting (default: the config's).")
flags.DEFINE_bool("separate_seeds", False, "One run per seed instead of one run of all the seeds.")
flags.DEFINE_multi_string("set", [], "A fixed override for every run, e.g. "
                          "--set=data.data_dir=/data (repeatable; values as --config.* reads).")
flags.DEFINE_bool("dry_run", False, "Print what would be submitted without submitting.")
flags.DEFINE_string("partition", None, "SLURM partition (default: the cluster's).")
flags.DEFINE_integer("time", 60, "Time limit of each run's job, in minutes. A run that needs "
                     "longer is requeued and resumes (--max_timeouts times).", lower_bound=1)
flags.DEFINE_integer("gpus", 0, "GPUs per run.", lower_bound=0)
flags.DEFINE_integer("cpus", 1, "CPUs per run.", lower_bound=1)
flags.DEFINE_float("mem", None, "Memory per run in GB (default: the cluster's).",
                  lower_bound=0)
flags.DEFINE_integer("array_parallelism", 256, "At most this many runs at once.", lower_bound=1)
flags.DEFINE_integer("max_timeouts", 3, "How often a run may reach its time limit and be "
                     "requeued (preemptions do not count).", lower_bound=0)
flags.DEFINE_integer("signal_delay", 90, "Seconds before the time limit at which a run is "
                     "told to stop and requeue.", lower_bound=0)
flags.DEFINE_float("mem_fraction", None, "XLA_PYTHON_CLIENT_MEM_FRACTION of each run, for runs "
                   "that share a GPU (e.g. 0.3); default: JAX's own (75%).", lower_bound=0,
                   upper_bound=1)
flags.DEFINE_string("job_name", None, "SLURM job name (default: jaxgen-<workdir's name>).")
flags.DEFINE_multi_string("sbatch", [], "Any other sbatch option as key=value, e.g. "
                          "--sbatch=account=lab --sbatch=qos=high --sbatch=constraint=a100 "
                          "(repeatable).")


@dataclasses.dataclass
class Plan:
  """What a submission does with each run of the sweep."""

  submit: list[tuple[Run, ml_collections.ConfigDict]]
  finished: list[Run]
  queued: dict[str, str]  # run name -> its live job id.
  refused: dict[str, str]  # run name -> why (a message naming the run).


def plan(config_path: str, root: str, runs: list[Run]) -> Plan:
  """Sorts the runs into those to submit (with their config) and those to leave alone.

  Args:
    config_path: the sweep's config file.
    root: the sweep's workdir.
    runs: the sweep's runs (`sweep.expand`).

  Returns:
    A Plan: finished runs and runs whose recorded job is queued or running are not submitted;
    runs whose config is invalid, or differs from the one they finished or started with, are
    refused.

  Raises:
    RuntimeError: if runs of `root` were submitted before and squeue does not answer.
  """
  recorded = jobs.recorded(root)
  states = jobs.queue_states() if recorded else {}
  result = Plan([], [], {}, {})
  for run in runs:
    # Recorded by folder name (a sweep begun with full-float names keeps its folders), as
    # launch.status finds runs.
    job = recorded.get(os.path.basename(run.workdir(root)))
    if job is not None and jobs.is_live(states.get(job.job_id)):
      result.queued[run.name] = job.job_id
      continue
    try:
      if is_finished(run, config_path, root):  # Its error names the run.
        result.finished.append(run)
        continue
    except (config_lib.ConfigError, RunDivergedError) as error:
      result.refused[run.name] = str(error)
      continue
    try:
      config = config_lib.load_config(config_path, run.overrides)
      config_lib.validate(config)
      # An interrupted run must resume with its own config: refuse now, not in the job.
      config_lib.check_resume(run.workdir(root), config)
    except config_lib.ConfigError as error:
      result.refused[run.name] = f"{run.name}: {error}"
      continue
    result.submit.append((run, config))
  return result


def job_parameters(root: str) -> dict[str, Any]:
  """submitit's parameters (AutoExecutor.update_parameters) for the resources of the flags."""
  # The job must import `launch` (to unpickle TrainRun) whatever directory it starts in.
  repo = str(Path(__file__).resolve().parents[1])
  setup = [f'export PYTHONPATH="{repo}${{PYTHONPATH:+:$PYTHONPATH}}"']
  if FLAGS.mem_fraction is not None:
    setup.append(f"export XLA_PYTHON_CLIENT_MEM_FRACTION={FLAGS.mem_fraction}")
  parameters = {
      "name": FLAGS.job_name or f"jaxgen-{os.path.basename(os.path.abspath(root))}",
      "timeout_min": FLAGS.time,
      "cpus_per_task": FLAGS.cpus,
      "slurm_array_parallelism": FLAGS.array_parallelism,
      "slurm_signal_delay_s": FLAGS.signal_delay,
      "slurm_stderr_to_stdout": True,
      "slurm_setup": setup,
      "slurm_additional_parameters": parse_sbatch(FLAGS.sbatch),
  }
  if FLAGS.gpus:
    parameters["gpus_per_node"] = FLAGS.gpus
  if FLAGS.mem is not None:
    parameters["mem_gb"] = FLAGS.mem
  if FLAGS.partition:
    parameters["slurm_partition"] = FLAGS.partition
  return parameters


def make_executor(root: str, parameters: dict[str, Any]) -> submitit.AutoExecutor:
  """A submitit SLURM executor with these parameters, writing its files to root/slurm_logs."""
  executor = submitit.AutoExecutor(folder=os.path.join(root, jobs.LOG_DIR, "%j"),
                                   cluster="slurm", slurm_max_num_timeout=FLAGS.max_timeouts)
  executor.update_parameters(**parameters)
  return executor


def parse_sbatch(items: list[str]) -> dict[str, str]:
  """--sbatch items ("account=lab", "exclusive=") as submitit's slurm_additional_parameters."""
  options = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or not key:
      raise app.UsageError(f"--sbatch={item!r}: expected option=value, e.g. --sbatch=qos=high")
    options[key.lstrip("-")] = value
  return options


def submit(executor: submitit.AutoExecutor, root: str,
           runs: list[tuple[Run, ml_collections.ConfigDict]]) -> list[jobs.Job]:
  """Submits the runs as one job array and records their jobs under `root`."""
  if not runs:
    return []
  os.makedirs(root, exist_ok=True)
  with executor.batch():
    submitted = [executor.submit(TrainRun(config, run.workdir(root)))
                 for run, config in runs]
  records = [jobs.Job(os.path.basename(run.workdir(root)), job.job_id, str(job.paths.stdout),
                      str(job.paths.result_pickle))
             for (run, _), job in zip(runs, submitted, strict=True)]
  jobs.record(root, records)
  return records


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  seeds = [int(s) for s in FLAGS.seeds] if FLAGS.seeds else None
  try:
    fixed = parse_fixed(FLAGS.set)
  except ValueError as error:
    raise app.UsageError(str(error)) from error
  runs = expand(FLAGS.config, seeds, FLAGS.separate_seeds, fixed)
  root = os.path.abspath(FLAGS.workdir)  # Jobs and launch.status may run elsewhere.
  try:
    work = plan(FLAGS.config, root, runs)
  except RuntimeError as error:  # squeue failed: submitting could start a run twice.
    sys.exit(f"launch.slurm: cannot tell which runs of {root} are still queued: {error}")
  parameters = job_parameters(root)
  for run in work.finished:
    print(f"finished  {run.name}")
  for name, job_id in work.queued.items():
    print(f"queued    {name} (job {job_id})")
  for reason in work.refused.values():
    print(f"REFUSED   {reason}", file=sys.stderr)
  if FLAGS.dry_run:
    for run, _ in work.submit:
      print(f"would submit {run.name} -> {run.workdir(root)}")
    print(f"as one job array of {len(work.submit)} tasks, submitit parameters {parameters}")
  else:
    submitted = submit(make_executor(root, parameters), root, work.submit)
    for job in submitted:
      print(f"submitted {job.run} (job {job.job_id}, log {job.log})")
    if submitted:
      print(f"Progress: python -m launch.status {root}")
    else:
      print("Nothing to submit.")
  if work.refused:
    sys.exit(1)


if __name__ == "__main__":
  command_line.run(main)
