"""The device mesh of a run: seeds spread over the "seeds" axis, each batch over "data"."""

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxgen.config.errors import ConfigError


def make_mesh(config: ml_collections.ConfigDict) -> Mesh:
  """A (seeds, data) mesh over all devices; `config.sharding.seed_axis_size` go to seeds.

  Over several processes (`jaxgen.distributed`) the mesh spans every process's devices,
  listed process by process, so a seed's data axis stays within one process whenever it fits
  in one (seeds never communicate; the data axis all-reduces gradients every step).
  """
  devices = jax.devices()  # Every process's devices, once jax.distributed is initialized.
  seed_axis = config.sharding.seed_axis_size
  count = str(len(devices))
  if jax.process_count() > 1:
    count += f", over {jax.process_count()} processes"
  if seed_axis < 1 or len(devices) % seed_axis:
    raise ConfigError(f"config.sharding.seed_axis_size={seed_axis} must divide the number of "
                      f"devices ({count})")
  if len(config.seeds) % seed_axis:
    raise ConfigError(f"config.sharding.seed_axis_size={seed_axis} must divide the number of "
                      f"seeds ({len(config.seeds)})")
  data_axis = len(devices) // seed_axis
  for field in ("batch_size", "eval_batch_size"):
    if config.train[field] % data_axis:
      raise ConfigError(f"config.train.{field}={config.train[field]} must be divisible by the "
                        f"data-parallel mesh axis ({data_axis} devices of {count})")
  return Mesh(np.asarray(devices).reshape(seed_axis, data_axis), ("seeds", "data"))


def seed_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (seed) axis over "seeds", the rest replicated: the layout of the train state."""
  return NamedSharding(mesh, P("seeds"))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Per-seed batch axis over "data" (inside `vmap(..., spmd_axis_name="seeds")`)."""
  return NamedSharding(mesh, P("data"))
