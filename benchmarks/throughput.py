"""Training throughput of a config's model: compile time, images/s, and N seeds vs one.

  python -m benchmarks.throughput [--config=configs/default.py] [--seeds=8] [--steps=50]

Measures, in one process and on the same device, the jitted train step of `--config` (the
embedded default unless given) for 1 seed and for N vmapped seeds, and prints the compile
time, the steady-state images/s of each, and the ratio (N-seed images/s) / (1-seed
images/s): how much faster training N seeds in one program is than one run after another.
Run it as a module from the repository root, so that config files can import `configs`.
"""

import time

import jax
import jax.numpy as jnp
from absl import app, flags

from jaxgen import sharding
from jaxgen.config import load_config
from jaxgen.config.validation import model_kwargs
from jaxgen.data.pipeline import load_dataset
from jaxgen.models import build_model
from jaxgen.optim.optimizers import build_optimizer
from jaxgen.program import build_program

flags.DEFINE_string("config", "configs/default.py", "Config file (file.py or file.py:arg).")
flags.DEFINE_integer("seeds", 8, "Number of seeds in the vmapped program.")
flags.DEFINE_integer("steps", 50, "Timed steps (after warm-up).")
FLAGS = flags.FLAGS


def measure(config, dataset, num_seeds: int, num_steps: int) -> dict[str, float]:
  """Compile time (s) and steady-state images/s of `num_seeds` vmapped seeds."""
  config.seeds = tuple(range(num_seeds))
  mesh = sharding.make_mesh(config)
  model = build_model(config.model.name, dataset.num_classes, **model_kwargs(config.model))
  steps_per_epoch = len(dataset.train) // config.train.batch_size
  tx, _ = build_optimizer(config.optim, steps_per_epoch)
  program = build_program(config, model, tx, mesh, dataset.train.images[:1])
  state = program.init(jnp.arange(num_seeds, dtype=jnp.int32))
  images, labels = jnp.asarray(dataset.train.images), jnp.asarray(dataset.train.labels)
  train_fn = program.train_step

  start = time.perf_counter()
  compiled = train_fn.lower(state, images, labels).compile()
  compile_time = time.perf_counter() - start
  for _ in range(3):  # Warm-up.
    state = compiled(state, images, labels)
  jax.block_until_ready(state)
  start = time.perf_counter()
  for _ in range(num_steps):
    state = compiled(state, images, labels)
  jax.block_until_ready(state)
  elapsed = time.perf_counter() - start
  images_per_second = num_seeds * num_steps * config.train.batch_size / elapsed
  return {"compile_s": compile_time, "images_per_s": images_per_second}


def main(argv):
  del argv
  config = load_config(FLAGS.config)
  dataset = load_dataset(config.data)
  print(f"device: {jax.devices()[0].device_kind} x{jax.device_count()}; model "
        f"{config.model.name}, batch {config.train.batch_size}")
  one = measure(config.copy_and_resolve_references(), dataset, 1, FLAGS.steps)
  many = measure(config.copy_and_resolve_references(), dataset, FLAGS.seeds, FLAGS.steps)
  print(f"1 seed:   compile {one['compile_s']:.2f} s, {one['images_per_s']:,.0f} images/s")
  print(f"{FLAGS.seeds} seeds:  compile {many['compile_s']:.2f} s, "
        f"{many['images_per_s']:,.0f} images/s (all seeds together)")
  print(f"ratio {FLAGS.seeds}-seed vmapped / 1-seed throughput: "
        f"{many['images_per_s'] / one['images_per_s']:.2f}x")


if __name__ == "__main__":
  app.run(main)
