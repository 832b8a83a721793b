"""Training throughput of a config's model: compile time, images/s, and N seeds vs one.

  python -m benchmarks.throughput [--config=configs/default.py] [--seeds=8] [--steps=50]
      [--loop=auto|device|host] [--seed_strategy=auto|vmap|map]

Measures, in one process and on the same device, the jitted training of `--config` (the
embedded default unless given) for 1 seed and for N seeds in one program (run as
`--seed_strategy` says), and prints the compile time, the steady-state images/s of each, and
the ratio (N-seed images/s) / (1-seed images/s): how much faster training N seeds in one
program is than one run after another. The timed steps run as one `train_chunk` call, as the
trainer runs them between events: one dispatch of a loop on device (`--loop=device`) or one
dispatch per step (`--loop=host`); `auto` is the trainer's choice for the platform (host on
CPU).
Run it as a module from the repository root, so that config files can import `configs`.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
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
flags.DEFINE_enum("loop", "auto", ["auto", "device", "host"], "Where train_chunk loops.")
flags.DEFINE_enum("seed_strategy", "auto", ["auto", "vmap", "map"],
                  "How the N-seed program runs its seeds (config.sharding.seed_strategy).")
FLAGS = flags.FLAGS


def measure(config, dataset, num_seeds: int, num_steps: int) -> dict[str, float]:
  """Compile time (s, with one step) and steady-state images/s of `num_seeds` vmapped seeds."""
  config.seeds = tuple(range(num_seeds))
  config.sharding.seed_strategy = FLAGS.seed_strategy
  mesh = sharding.make_mesh(config)
  model = build_model(config.model.name, dataset.num_classes, **model_kwargs(config.model))
  steps_per_epoch = len(dataset.train) // config.train.batch_size
  tx, _ = build_optimizer(config.optim, steps_per_epoch)
  loop_on_device = {"auto": None, "device": True, "host": False}[FLAGS.loop]
  program = build_program(config, model, tx, mesh, dataset.train.images[:1], len(dataset.train),
                          loop_on_device)
  state = program.init(jnp.arange(num_seeds, dtype=jnp.int32))
  images, labels = jnp.asarray(dataset.train.images), jnp.asarray(dataset.train.labels)
  # Steps past the epoch's end reuse its order: the same work as a new epoch's order.
  order = program.epoch_order(state.rng, np.int32(0))

  start = time.perf_counter()
  # Compiles (train_chunk, or the train_step it dispatches) and takes one step.
  state = jax.block_until_ready(program.train_chunk(state, order, np.int32(1), images, labels))
  compile_time = time.perf_counter() - start
  state = program.train_chunk(state, order, np.int32(3), images, labels)  # Warm-up.
  jax.block_until_ready(state)
  start = time.perf_counter()
  jax.block_until_ready(program.train_chunk(state, order, np.int32(num_steps), images, labels))
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
  print(f"ratio {FLAGS.seeds}-seed ({FLAGS.seed_strategy}) / 1-seed throughput: "
        f"{many['images_per_s'] / one['images_per_s']:.2f}x")


if __name__ == "__main__":
  app.run(main)
