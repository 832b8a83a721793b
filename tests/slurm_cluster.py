"""The `slurm_cluster` fixture: a single-node SLURM cluster for the tests marked `slurm`.

A cluster that already answers `sinfo` (e.g. started by `launch/cluster/up.sh` in `.ci/run`) is
used as it is and left running. Otherwise the fixture starts one with up.sh and stops it with
down.sh at the end of the session. Where it cannot be started (not root, no apt-get), the tests
are skipped with up.sh's reason, except under CI (env CI set), where they fail: CI must run them.

Every test that uses the fixture is marked `slurm` (`pytest -m "not slurm"` leaves them out).
"""

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPTS = REPO / "launch" / "cluster"
DEFAULT_CONF = "/etc/slurm/slurm.conf"  # Where Debian's SLURM clients look without SLURM_CONF.


@dataclasses.dataclass(frozen=True)
class SlurmCluster:
  """A running cluster: its config (SLURM_CONF, set in os.environ for the session's
  subprocesses; None for the clients' default) and whether this session started it."""

  conf: str | None
  started: bool


def _state_dir() -> str:
  return os.environ.get("JAXGEN_SLURM_DIR", "/tmp/jaxgen-slurm")


def _answers(conf: str | None) -> bool:
  """Whether `sinfo` reaches a controller with that SLURM_CONF (None: the current env's)."""
  env = dict(os.environ)
  if conf is not None:
    env["SLURM_CONF"] = conf
  try:
    return subprocess.run(["sinfo", "-h"], env=env, capture_output=True, timeout=30,
                          check=False).returncode == 0
  except (FileNotFoundError, subprocess.TimeoutExpired):
    return False


def _controller_runs(state_dir: str) -> bool:
  """Whether the slurmctld that up.sh started in `state_dir` runs (asking sinfo of a cluster
  that is down takes seconds of retries)."""
  try:
    with open(os.path.join(state_dir, "slurmctld.pid")) as f:
      os.kill(int(f.read()), 0)
  except (OSError, ValueError):
    return False
  return True


def _running_cluster() -> str | None:
  """The SLURM_CONF of a cluster that answers: the environment's, up.sh's, or the clients'
  default ""; None if none does. Configs that do not exist are not asked (sinfo then spends
  seconds looking for a controller)."""
  ours = os.path.join(_state_dir(), "slurm.conf")
  candidates = [os.environ.get("SLURM_CONF"), ours if _controller_runs(_state_dir()) else None]
  for conf in candidates:
    if conf and os.path.exists(conf) and _answers(conf):
      return conf
  return "" if os.path.exists(DEFAULT_CONF) and _answers(None) else None


def _unavailable(reason: str):
  if os.environ.get("CI"):
    pytest.fail(f"SLURM tests must run in CI, but {reason}", pytrace=False)
  pytest.skip(reason)


@pytest.fixture(scope="session")
def slurm_cluster():
  """Yields a SlurmCluster; starts one with launch/cluster/up.sh if none is running."""
  conf = _running_cluster()
  started = conf is None
  if started:
    try:
      process = subprocess.run([str(CLUSTER_SCRIPTS / "up.sh")], capture_output=True,
                               text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
      _unavailable(f"launch/cluster/up.sh could not start a SLURM cluster: {error}")
    if process.returncode != 0:
      _unavailable("launch/cluster/up.sh could not start a SLURM cluster: "
                   f"{(process.stderr or process.stdout).strip()[-1000:]}")
    conf = os.path.join(_state_dir(), "slurm.conf")
  with pytest.MonkeyPatch.context() as patch:
    if conf:
      patch.setenv("SLURM_CONF", conf)
    try:
      yield SlurmCluster(conf or None, started)
    finally:
      if started:
        subprocess.run([str(CLUSTER_SCRIPTS / "down.sh")], capture_output=True, timeout=120,
                       check=False)


def pytest_configure(config):
  config.addinivalue_line("markers", "slurm: needs a SLURM cluster (the slurm_cluster fixture)")


def pytest_collection_modifyitems(items):
  for item in items:
    if "slurm_cluster" in getattr(item, "fixturenames", ()):
      item.add_marker(pytest.mark.slurm)
