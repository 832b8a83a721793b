"""One run over several processes (one per GPU or host) with `jax.distributed`.

Off by default: `initialize` is called only when asked (`python -m jaxgen.main --distributed`),
since `jax.distributed.initialize()` on a machine that merely looks like a cluster (SLURM
variables set outside `srun`) fails or hangs. Once initialized, `jax.devices()` lists every
process's devices, so the run's (seeds, data) mesh spans them all; every process runs the same
program on its own devices and holds the whole in-memory dataset.

The other functions are what the trainer needs to stay correct over several processes, and
do nothing new in a single process: `put` places host data on the global mesh, `fetch` brings
device values back to every host, `barrier` orders file accesses between processes,
`max_over_processes` lets them agree (on a signal one of them received), and `is_primary`
names the one process that holds the workdir lock and writes the run's logs, figures and
summary.
"""

from typing import Any

import jax
import numpy as np
from absl import logging
from jax.experimental import multihost_utils

PyTree = Any


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
  """Joins this process to a multi-process run; call it before any JAX computation.

  Under SLURM (`srun`) and Open MPI every argument is detected by JAX; started by hand, each
  process passes the same `coordinator_address` and `num_processes` and its own `process_id`.

  Args:
    coordinator_address: "host:port" of process 0, reachable from every process.
    num_processes: how many processes the run spans.
    process_id: this process's index in [0, num_processes).

  Raises:
    ValueError: if an argument is missing and no cluster environment provides it.
  """
  # Cross-process collectives on CPU need an implementation (gloo is the one built into
  # jaxlib); without one, a CPU computation spanning two processes fails to compile.
  if jax.config.jax_cpu_collectives_implementation is None:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  try:
    jax.distributed.initialize(coordinator_address=coordinator_address,
                               num_processes=num_processes, process_id=process_id)
  except ValueError as error:
    if None not in (coordinator_address, num_processes, process_id):
      raise
    raise ValueError(
        f"jax.distributed could not detect the rest of the launch ({error}). Outside srun "
        "(or mpirun), give the coordinator address, the number of processes and this "
        "process's id (--coordinator_address, --num_processes, --process_id).") from error
  logging.info("Process %d of %d: %d local devices of %d.", jax.process_index(),
               jax.process_count(), jax.local_device_count(), jax.device_count())


def is_primary() -> bool:
  """Whether this is process 0, the one that writes the run's logs, figures and summary."""
  return jax.process_index() == 0


def put(tree: PyTree, sharding: jax.sharding.Sharding) -> PyTree:
  """Host arrays, the same on every process, as jax.Arrays laid out by `sharding`.

  Args:
    tree: a pytree of NumPy arrays, equal on every process (e.g. the whole dataset).
    sharding: their layout over the (possibly multi-process) mesh.

  Returns:
    The tree of jax.Arrays; each process fills only its own devices' shards.
  """
  if sharding.is_fully_addressable:
    return jax.device_put(tree, sharding)
  # `device_put` would first check that every process holds equal data, by gathering all of
  # it to every process; the data comes from the same files on each process, so skip that.
  return jax.tree.map(
      lambda x: jax.make_array_from_callback(np.shape(x), sharding, lambda index: x[index]),
      tree)


def fetch(tree: PyTree) -> PyTree:
  """Device values as NumPy arrays on every process (`jax.device_get` of a single process).

  An array laid out over several processes' devices is gathered from all of them, so every
  process must call `fetch` with the same arrays at the same point of the run.
  """
  if all(leaf.is_fully_addressable for leaf in jax.tree.leaves(tree)
         if isinstance(leaf, jax.Array)):
    return jax.device_get(tree)

  def gather(leaf):
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
      return multihost_utils.process_allgather(leaf, tiled=True)
    return jax.device_get(leaf)

  return jax.tree.map(gather, tree)


def max_over_processes(value: int) -> int:
  """The largest of the processes' `value`s (a collective: every process must call it)."""
  return int(np.max(multihost_utils.process_allgather(np.int32(value))))


def barrier(name: str) -> None:
  """Waits until every process reaches the barrier `name`; returns at once in one process.

  Used where one process writes a file that the others read (config.json, metrics.jsonl).
  """
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)
