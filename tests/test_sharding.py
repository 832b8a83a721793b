"""A run spread over 4 (fake CPU) devices gives the result of a 1-device run."""

import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from jaxgen import checkpoints, run_log, train

OVERRIDES = {"model.batch_norm": True, "seeds": (0, 1), "train.num_epochs": 1}

SCRIPT = textwrap.dedent("""
    import functools
    import sys
    import jax
    from tests.conftest import make_tiny_config
    from jaxgen import program, run_setup, train
    assert jax.device_count() == 4, jax.devices()
    for seed_axis in (2, 1):  # Meshes (seeds=2, data=2) and (seeds=1, data=4).
      config = make_tiny_config(**{OVERRIDES!r}, **{{"sharding.seed_axis_size": seed_axis}})
      train.train_and_evaluate(config, sys.argv[1] + f"/mesh{{seed_axis}}")
    # The steps between events looped on device (the default off CPU) keep the layout too.
    run_setup.build_program = functools.partial(program.build_program, loop_on_device=True)
    config = make_tiny_config(**{OVERRIDES!r}, **{{"sharding.seed_axis_size": 2}})
    train.train_and_evaluate(config, sys.argv[1] + "/mesh2_loop_on_device")
""").format(OVERRIDES=OVERRIDES)


def test_four_device_mesh_matches_one_device(tiny_config, tmp_path):
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
             JAX_PLATFORMS="cpu")
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, cwd=root, check=True)

  assert jax.device_count() == 1
  single = train.train_and_evaluate(tiny_config(**OVERRIDES), str(tmp_path / "single"))
  expected = jax.tree.map(np.asarray, single.state.params)
  for mesh in ("mesh2", "mesh1", "mesh2_loop_on_device"):
    sharded = checkpoints.load(str(tmp_path / mesh))["params"]
    for a, b in zip(jax.tree.leaves(sharded), jax.tree.leaves(expected), strict=True):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # Evaluation (each batch split over the data axis) gives the same numbers too.
    final = run_log.read_summary(str(tmp_path / mesh))["final"]
    for key, row in final.items():
      seed, split = key.split("/")
      expected_row = single.final[(int(seed), split)]
      assert row["accuracy"] == pytest.approx(expected_row["accuracy"], abs=1e-6)
      assert row["loss"] == pytest.approx(expected_row["loss"], rel=1e-4)
