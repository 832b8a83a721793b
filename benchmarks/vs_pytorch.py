"""jaxgen's training step side by side with an idiomatic PyTorch loop, model by model.

  python -m benchmarks.vs_pytorch [--models=mlp_1x512,lenet] [--steps=10] [--repeats=3]
      [--seeds=4] [--peak_gflops=0] [--batch_size=128]

Needs the `bench` extra (`pip install -e '.[bench]'`: the CPU build of PyTorch). For each
model, on synthetic data (batch 128, SGD with momentum 0.9), it times, interleaved (A B A B)
in one process:
- jaxgen: `train_chunk` of `--steps` steps, as the trainer runs them between two events (on
  CPU one jitted dispatch per step), on one seed, with the default config's per-layer metrics
  kept in the state;
- PyTorch: the same architecture (`benchmarks/torch_models.py`) in an eager loop
  (zero_grad, forward, cross-entropy, backward, step), with its running train accuracy;
- with `--seeds=N`: N seeds in one jaxgen program, for each seed strategy (vmap, map).
It prints images/s of each (median over `--repeats`), their ratio, jaxgen's compile time, the
achieved GFLOP/s (XLA's count of the step's flops) against `--peak_gflops` (the machine's fp32
peak; by default the nominal one, from /proc/cpuinfo), the per-layer metrics' time
(`measure_step`) as a share of a 50,000-image epoch, and N seeds' throughput against one seed's.
Smoke run in seconds: `--models=mlp_1x512 --steps=2 --repeats=1 --seeds=2`.
Run it as a module from the repository root.
"""

import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import torch
from absl import app, flags

from benchmarks import machine, torch_models
from jaxgen import sharding
from jaxgen.config import schema
from jaxgen.models import build_model
from jaxgen.models.randomization import INCEPTION_SMALL_STAGES
from jaxgen.optim.optimizers import build_optimizer
from jaxgen.program import build_program

# name: (jaxgen model, its arguments, input (H, W, C), PyTorch builder).
MODELS = {
    "mlp_1x512": ("mlp_1x512", {}, (28, 28, 3), lambda: torch_models.mlp((512,), 2352)),
    "mlp_3x512": ("mlp_3x512", {}, (28, 28, 3), lambda: torch_models.mlp((512,) * 3, 2352)),
    "alexnet_small": ("alexnet_small", {}, (28, 28, 3), torch_models.alexnet_small),
    "inception_small": ("inception_small", {}, (28, 28, 3),
                        lambda: torch_models.inception_small(INCEPTION_SMALL_STAGES)),
    "rwc_alexnet": ("alexnet_cifar", {}, (32, 32, 3), torch_models.alexnet_cifar),
    "lenet": ("lenet", {}, (32, 32, 3), torch_models.lenet),
    "wrn_16_10": ("wrn_28_10", {"depth": 16, "num_classes": 10}, (32, 32, 3),
                  torch_models.wide_resnet),
}
EPOCH_IMAGES = 50_000  # CIFAR-10's training set: the epoch of the metric-time share.
LEARNING_RATE, MOMENTUM = 0.05, 0.9  # jaxgen's default SGD.

flags.DEFINE_list("models", list(MODELS), f"Models to time, of {', '.join(MODELS)}.")
flags.DEFINE_integer("steps", 10, "Timed steps per repeat (WRN-16-10: --wrn_steps).")
flags.DEFINE_integer("wrn_steps", 2, "Timed steps per repeat of WRN-16-10.")
flags.DEFINE_integer("repeats", 3, "Interleaved repeats; images/s is their median.")
flags.DEFINE_integer("seeds", 4, "Seeds of the N-seed programs (0: skip them).")
flags.DEFINE_integer("batch_size", 128, "Batch size.")
flags.DEFINE_integer("torch_threads", 0, "PyTorch's intra-op threads (0: its default, one per "
                     "core). On a busy machine its OpenMP threads wait on each other: 1 is fairer.")
FLAGS = flags.FLAGS


class JaxRunner:
  """A jaxgen program of `num_seeds` seeds on synthetic data, timed `steps` at a time."""

  def __init__(self, name: str, num_seeds: int, strategy: str, data, metrics: bool):
    model_name, kwargs, _, _ = MODELS[name]
    config = schema.get_config()
    config.model = {"name": model_name, **kwargs}
    config.seeds = tuple(range(num_seeds))
    config.train.batch_size = FLAGS.batch_size
    config.sharding.seed_strategy = strategy
    if not metrics:
      config.metrics.names = ()
    config.optim.learning_rate, config.optim.momentum = LEARNING_RATE, MOMENTUM
    kwargs = {k: v for k, v in kwargs.items() if k != "num_classes"}
    model = build_model(model_name, 10, **kwargs)
    self.images, self.labels = data
    steps_per_epoch = len(self.labels) // FLAGS.batch_size
    tx, _ = build_optimizer(config.optim, steps_per_epoch)
    self.program = build_program(config, model, tx, sharding.make_mesh(config),
                                 np.asarray(self.images[:1]), len(self.labels))
    self.num_seeds = num_seeds
    self.state = self.program.init(jnp.arange(num_seeds, dtype=jnp.int32))
    self.order = self.program.epoch_order(self.state.rng, np.int32(0))
    start = time.perf_counter()
    self.run(1)
    self.compile_s = time.perf_counter() - start
    self.run(2)  # Warm-up.

  def run(self, steps: int) -> float:
    """Seconds for `steps` steps (past the epoch's end the order repeats: the same work)."""
    start = time.perf_counter()
    self.state = jax.block_until_ready(self.program.train_chunk(
        self.state, self.order, np.int32(steps), self.images, self.labels))
    return time.perf_counter() - start

  def compiled_step(self) -> jax.stages.Compiled:
    """The compiled train step, for XLA's cost analysis and optimized HLO."""
    return self.program.train_step.lower(self.state, self.order, self.images,
                                         self.labels).compile()

  def flops_per_step(self) -> float:
    """XLA's count of one step's floating-point operations (all seeds)."""
    analysis = self.compiled_step().cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    return float(analysis.get("flops", float("nan")))

  def measure_s(self) -> float:
    """Seconds of one `measure_step` (the per-layer metrics of a logging event)."""
    self.state, _ = jax.block_until_ready(self.program.measure_step(self.state))  # Compiles.
    times = []
    for _ in range(3):
      start = time.perf_counter()
      self.state, _ = jax.block_until_ready(self.program.measure_step(self.state))
      times.append(time.perf_counter() - start)
    return min(times)


class TorchRunner:
  """The PyTorch model in an idiomatic eager training loop on the same synthetic data."""

  def __init__(self, name: str, data):
    torch.manual_seed(0)
    self.model = MODELS[name][3]()
    self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE,
                                     momentum=MOMENTUM)
    images, labels = data
    self.images = torch.from_numpy(np.asarray(images).transpose(0, 3, 1, 2).copy())
    self.labels = torch.from_numpy(np.asarray(labels).astype(np.int64))
    self.order = torch.randperm(len(self.labels))
    self.step = 0
    self.correct = torch.zeros((), dtype=torch.int64)
    self.run(3)  # Warm-up (allocator, kernel selection).

  def run(self, steps: int) -> float:
    """Seconds for `steps` steps."""
    self.model.train()
    batch = FLAGS.batch_size
    start = time.perf_counter()
    for _ in range(steps):
      first = (self.step * batch) % (len(self.labels) - batch + 1)
      index = self.order[first:first + batch]
      x, y = self.images[index], self.labels[index]
      self.optimizer.zero_grad(set_to_none=True)
      logits = self.model(x)
      loss = torch.nn.functional.cross_entropy(logits, y)
      loss.backward()
      self.optimizer.step()
      with torch.no_grad():
        self.correct += (logits.argmax(1) == y).sum()
      self.step += 1
    return time.perf_counter() - start


def _parameter_counts(jax_runner: JaxRunner, torch_runner: TorchRunner) -> tuple[int, int]:
  jax_count = sum(x[0].size for x in jax.tree.leaves(jax_runner.state.params))
  return jax_count, sum(p.numel() for p in torch_runner.model.parameters())


def synthetic_data(height: int, width: int, channels: int) -> tuple[jax.Array, jax.Array]:
  """8 batches of normal images and uniform labels of 10 classes."""
  rng = np.random.default_rng(0)
  num_images = FLAGS.batch_size * 8
  return (jnp.asarray(rng.normal(size=(num_images, height, width, channels)), jnp.float32),
          jnp.asarray(rng.integers(0, 10, num_images), jnp.int32))


def benchmark(name: str) -> dict:
  """Times one model; returns the row of the summary table."""
  height, width, channels = MODELS[name][2]
  steps = FLAGS.wrn_steps if name == "wrn_16_10" else FLAGS.steps
  data = synthetic_data(height, width, channels)
  runners = {"jaxgen": JaxRunner(name, 1, "auto", data, metrics=True),
             "pytorch": TorchRunner(name, data)}
  counts = _parameter_counts(runners["jaxgen"], runners["pytorch"])
  if counts[0] != counts[1]:
    raise AssertionError(f"{name}: jaxgen has {counts[0]:,} parameters, PyTorch {counts[1]:,}")
  if FLAGS.seeds:
    for strategy in ("vmap", "map"):
      runners[strategy] = JaxRunner(name, FLAGS.seeds, strategy, data, metrics=False)
  rates = {key: [] for key in runners}
  for _ in range(FLAGS.repeats):  # Interleaved, so that a busy moment hits all alike.
    for key, runner in runners.items():
      seeds = getattr(runner, "num_seeds", 1)
      rates[key].append(seeds * steps * FLAGS.batch_size / runner.run(steps))
  rate = {key: statistics.median(values) for key, values in rates.items()}
  jaxgen = runners["jaxgen"]
  gflops = jaxgen.flops_per_step() * rate["jaxgen"] / FLAGS.batch_size / 1e9
  epoch_s = EPOCH_IMAGES / rate["jaxgen"]
  row = {"model": name, "parameters": counts[0], "jaxgen": rate["jaxgen"],
         "pytorch": rate["pytorch"], "ratio": rate["jaxgen"] / rate["pytorch"],
         "compile_s": jaxgen.compile_s, "gflops": gflops,
         "peak_share": gflops / machine.peak_gflops(),
         "metric_share": jaxgen.measure_s() / epoch_s,
         "strategy": jaxgen.program.seed_strategy}
  for strategy in ("vmap", "map"):
    if strategy in rate:
      row[f"{strategy}_ratio"] = rate[strategy] / rate["jaxgen"]
  print(f"{name}: {row}", flush=True)
  return row


def _table(rows: list[dict]) -> str:
  seeds = FLAGS.seeds
  header = ["model", "jaxgen images/s", "PyTorch images/s", "ratio", "compile s",
            "GFLOP/s (% of peak)", "metrics % of epoch", "auto strategy"]
  if seeds:
    header += [f"{seeds} seeds vmap / 1", f"{seeds} seeds map / 1"]
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  for r in rows:
    cells = [r["model"], f"{r['jaxgen']:,.0f}", f"{r['pytorch']:,.0f}", f"{r['ratio']:.2f}x",
             f"{r['compile_s']:.1f}", f"{r['gflops']:.1f} ({100 * r['peak_share']:.0f}%)",
             f"{100 * r['metric_share']:.2f}%", r["strategy"]]
    if seeds:
      cells += [f"{r['vmap_ratio']:.2f}x", f"{r['map_ratio']:.2f}x"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def main(argv):
  del argv
  unknown = sorted(set(FLAGS.models) - set(MODELS))
  if unknown:
    raise app.UsageError(f"--models: unknown {unknown}; valid choices: {', '.join(MODELS)}")
  if FLAGS.torch_threads:
    torch.set_num_threads(FLAGS.torch_threads)
  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind}; torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads; batch {FLAGS.batch_size}; "
        f"fp32 peak {machine.peak_gflops():.0f} GFLOP/s", flush=True)
  rows = [benchmark(name) for name in FLAGS.models]
  print(_table(rows))
  if FLAGS.seeds:
    print(f"N seeds / 1: throughput of {FLAGS.seeds} seeds in one program (all seeds' images) "
          "over one seed's; 1.0x = as fast as separate runs one after another.")


if __name__ == "__main__":
  app.run(main)
