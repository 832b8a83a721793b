"""Every seed strategy (vmap, map, and either with seeds spread over devices) trains each seed
to the same parameters, and `auto` picks map for convolutional models on CPU.

The equality is within float32 rounding, not bit for bit: vmap turns each convolution into one
grouped convolution over the seeds, whose kernel sums in another order than S plain ones. The
map strategy runs each seed's plain step, so it equals a one-seed run of that seed bit for bit.
"""

import functools
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import program as program_lib
from jaxgen import run_setup, seed_strategy
from jaxgen.config import ConfigError, validate
from tests.conftest import make_tiny_config

SEEDS = (0, 1, 2)
STEPS = 3
OVERRIDES = {"model": {"name": "small_cnn", "widths": (4, 8), "hidden": 16},
             "train.batch_size": 32, "metrics.names": ()}


def _train(seeds, strategy, loop_on_device=False, **overrides):
  """(program, params after STEPS steps, test-split eval) of a tiny conv run."""
  config = make_tiny_config(**OVERRIDES, seeds=seeds, **{"sharding.seed_strategy": strategy},
                            **overrides)
  validate(config)
  with pytest.MonkeyPatch.context() as monkeypatch:
    monkeypatch.setattr(run_setup, "build_program", functools.partial(
        program_lib.build_program, loop_on_device=loop_on_device))
    setup = run_setup.prepare(config)
  program = setup.program
  state = program.init(jnp.asarray(seeds, jnp.int32))
  order = program.epoch_order(state.rng, np.int32(0))
  state = program.train_chunk(state, order, np.int32(STEPS), *setup.train_data)
  evaluation = program.eval_step(state, *setup.eval_data["test"])
  return program, jax.tree.map(np.asarray, state.params), jax.device_get(evaluation)


@pytest.fixture(scope="module")
def runs():
  return {strategy: _train(SEEDS, strategy) for strategy in ("vmap", "map")}


@pytest.mark.parametrize("loop_on_device", [False, True])
def test_map_and_vmap_train_to_the_same_parameters(runs, loop_on_device):
  _, vmapped, vmap_eval = runs["vmap"]
  # The steps looped on device (the default off CPU) as well as dispatched one by one.
  _, mapped, map_eval = runs["map"] if not loop_on_device else _train(SEEDS, "map", True)
  for a, b in zip(jax.tree.leaves(mapped), jax.tree.leaves(vmapped), strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(map_eval["loss"], vmap_eval["loss"], rtol=1e-5)
  np.testing.assert_array_equal(map_eval["accuracy"], vmap_eval["accuracy"])


def test_map_equals_each_seed_trained_alone_bit_for_bit(runs):
  _, mapped, _ = runs["map"]
  _, alone, _ = _train((SEEDS[1],), "map")
  for a, b in zip(jax.tree.leaves(mapped), jax.tree.leaves(alone), strict=True):
    np.testing.assert_array_equal(a[1], b[0])


@pytest.mark.parametrize("strategy", ["vmap", "map"])
def test_step_with_frozen_seeds_keeps_them_and_equals_the_plain_step_for_the_others(strategy):
  config = make_tiny_config(**OVERRIDES, seeds=SEEDS, **{"sharding.seed_strategy": strategy})
  validate(config)
  setup = run_setup.prepare(config)
  program = setup.program
  fresh = lambda: program.init(jnp.asarray(SEEDS, jnp.int32))  # noqa: E731 (steps donate)
  order = program.epoch_order(fresh().rng, np.int32(0))
  plain = jax.device_get(program.train_chunk(fresh(), order, np.int32(2), *setup.train_data))
  # All seeds active: the step that keeps frozen seeds is the plain step, bit for bit.
  kept = program.train_chunk_with_frozen(fresh(), order, np.int32(2), *setup.train_data)
  for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(jax.device_get(kept)), strict=True):
    np.testing.assert_array_equal(a, b)
  # Seed 1 frozen: it keeps its initial state while seeds 0 and 2 train as before.
  initial = jax.device_get(fresh())
  frozen = fresh().replace(active=jnp.asarray([True, False, True]))
  frozen = jax.device_get(program.train_chunk_with_frozen(frozen, order, np.int32(2),
                                                          *setup.train_data))
  for field in ("step", "params", "opt_state", "train_sums"):
    for a, b, start in zip(jax.tree.leaves(getattr(plain, field)),
                           jax.tree.leaves(getattr(frozen, field)),
                           jax.tree.leaves(getattr(initial, field)), strict=True):
      np.testing.assert_array_equal(b[[0, 2]], a[[0, 2]])
      np.testing.assert_array_equal(b[1], start[1])


def test_each_function_compiles_once(runs):
  for program, _, _ in runs.values():
    assert program.train_step._cache_size() == 1
    assert program.eval_step._cache_size() == 1


def test_auto_picks_map_for_convolutions_on_cpu_and_vmap_otherwise(runs):
  assert seed_strategy.resolve("auto", "cpu", convolutional=True) == "map"
  assert seed_strategy.resolve("auto", "cpu", convolutional=False) == "vmap"
  assert seed_strategy.resolve("auto", "gpu", convolutional=True) == "vmap"
  assert seed_strategy.resolve("vmap", "cpu", convolutional=True) == "vmap"
  assert runs["map"][0].seed_strategy == "map"


def test_unknown_strategy_is_a_config_error():
  config = make_tiny_config(**{"sharding.seed_strategy": "pmap"})
  with pytest.raises(ConfigError, match=r"config\.sharding\.seed_strategy='pmap'.*"
                                        r"valid choices: auto, vmap, map"):
    validate(config)


SCRIPT = textwrap.dedent("""
    import sys
    import jax
    import numpy as np
    from tests import test_seed_strategy as t
    assert jax.device_count() == 2, jax.devices()
    for strategy in ("vmap", "map"):  # A (seeds=2, data=1) mesh: one seed per device.
      _, params, _ = t._train((0, 1), strategy, **{"sharding.seed_axis_size": 2})
      np.savez(sys.argv[1] + f"/{strategy}.npz", *jax.tree.leaves(params))
""")


def test_seeds_spread_over_devices_give_the_same_parameters(runs, tmp_path):
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2",
             JAX_PLATFORMS="cpu")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, cwd=root, check=True)
  # Seeds 0 and 1 of the one-device vmap run.
  expected = [leaf[:2] for leaf in jax.tree.leaves(runs["vmap"][1])]
  for strategy in ("vmap", "map"):
    with np.load(tmp_path / f"{strategy}.npz") as spread:
      leaves = [spread[f"arr_{i}"] for i in range(len(expected))]
    for a, b in zip(leaves, expected, strict=True):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
