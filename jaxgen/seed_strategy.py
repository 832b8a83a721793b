"""How a program runs its S seeds: vmapped together, or one after another inside one program.

`vmap` batches every seed's step into one: each convolution becomes a grouped convolution
(feature_group_count = S), which XLA:CPU runs much slower than S plain ones. `map` runs the
seeds one after another inside the same jitted program: each seed's convolutions keep their
plain form. The loop over seeds is unrolled (a Python loop at trace time), not a `lax.map`:
XLA:CPU gives its fast convolution kernels only to convolutions outside loops (see
`program.build_program`). The price: the program holds S copies of the step, so it compiles
about S times longer (minutes for 4 seeds of the small AlexNet on the busy 2-core CPU).
Both combine with seeds spread over devices (`sharding.seed_axis_size` = D > 1): the D
device groups of S/D seeds are always vmapped over the "seeds" mesh axis, each device holding
one group, and the strategy says how a device runs the S/D seeds of its group.

`auto` picks `map` for convolutional models on CPU and `vmap` otherwise, from measurements of
4 seeds against 1 (`benchmarks/vs_pytorch.py --seeds=4`, interleaved, on an idle 2-vCPU
Xeon; throughput of 4 seeds over one seed's): LeNet 1.08-1.29x mapped, 0.19-0.31x vmapped;
small AlexNet 1.25x mapped, 0.28x vmapped; MLP 1x512 0.98x vmapped, 0.54x mapped; MLP 3x512
1.06x vmapped, 0.63x mapped (dense layers batch well over seeds). On GPUs the unrolled map
would multiply compile time by S and serialise small kernels, so `auto` vmaps there.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp

STRATEGIES = ("auto", "vmap", "map")


def is_convolutional(params) -> bool:
  """Whether a parameter tree has a convolution kernel (a 4-D leaf, HWIO)."""
  return any(leaf.ndim == 4 for leaf in jax.tree.leaves(params))


def resolve(strategy: str, platform: str, convolutional: bool) -> str:
  """The concrete strategy ("vmap" or "map") that `strategy` names on `platform`.

  Args:
    strategy: one of STRATEGIES (`config.sharding.seed_strategy`).
    platform: the devices' platform ("cpu", "gpu", "tpu").
    convolutional: whether the model has convolutions (`is_convolutional`).

  Returns:
    "vmap" or "map".
  """
  if strategy not in STRATEGIES:
    raise ValueError(f"seed strategy {strategy!r} is not known; valid choices: "
                     f"{', '.join(STRATEGIES)}")
  if strategy != "auto":
    return strategy
  return "map" if platform == "cpu" and convolutional else "vmap"


def _split_groups(tree, groups: int):
  return jax.tree.map(lambda x: x.reshape((groups, x.shape[0] // groups) + x.shape[1:]), tree)


def _merge_groups(tree):
  return jax.tree.map(lambda x: x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:]), tree)


def _unrolled_map(fn: Callable, seeded: tuple, shared: tuple):
  """fn over the leading axis of `seeded`, one seed after another, outputs stacked."""
  count = jax.tree.leaves(seeded)[0].shape[0]
  outputs = [fn(*jax.tree.map(lambda x, i=i: x[i], seeded), *shared) for i in range(count)]
  return jax.tree.map(lambda *xs: jnp.stack(xs), *outputs)


def over_seeds(fn: Callable, strategy: str, num_seeded: int, seed_groups: int = 1) -> Callable:
  """`fn` (one seed's function) applied to every seed along the leading axis.

  Args:
    fn: a per-seed function; its first `num_seeded` arguments have a leading seed axis, the
      rest are shared by every seed.
    strategy: "vmap" or "map" (see `resolve`).
    num_seeded: how many leading arguments are per seed.
    seed_groups: the size of the "seeds" mesh axis; the seeds are split into this many
      contiguous groups, vmapped over that axis (each device holds its group).

  Returns:
    A function of the same arguments whose outputs have the leading seed axis.
  """
  if strategy == "vmap":
    def vmapped(*args):
      in_axes = (0,) * num_seeded + (None,) * (len(args) - num_seeded)
      return jax.vmap(fn, in_axes=in_axes, spmd_axis_name="seeds")(*args)
    return vmapped
  if strategy != "map":
    raise ValueError(f"seed strategy {strategy!r} is not 'vmap' or 'map'")

  def mapped(*args):
    seeded, shared = args[:num_seeded], args[num_seeded:]
    if seed_groups == 1:
      return _unrolled_map(fn, seeded, shared)
    per_group = jax.vmap(lambda *group: _unrolled_map(fn, group, shared),
                         spmd_axis_name="seeds")
    return _merge_groups(per_group(*_split_groups(seeded, seed_groups)))

  return mapped
