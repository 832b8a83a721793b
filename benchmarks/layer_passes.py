"""Where a model's step goes: each pass of the papers' layers, XLA vs PyTorch, side by side.

  python -m benchmarks.layer_passes [--layers=wrn_16_10_stage1,mlp_3x512_hidden] [--repeats=5]

A training step runs every convolution or dense layer three times: forward, the input
gradient (dX) and the weight gradient (dW). For layers of the benchmarked models
(`vs_pytorch.py`) at their batch and input sizes, this times each pass as XLA:CPU compiles it
(what jaxgen's step runs) and as PyTorch runs it (oneDNN), interleaved, and prints
milliseconds, GFLOP/s and the ratio PyTorch time / XLA time per pass. It is the profile
behind the ratios in the README's benchmark table. `--peak_gflops` as in vs_pytorch
(default: this CPU's nominal peak). Needs the `bench` extra; run it as a module from the
repository root.
"""

import statistics
import time

import jax
import jax.numpy as jnp
import torch
from absl import app, flags

from benchmarks import machine

# name: (batch, height = width, in channels, out channels, kernel, stride); SAME padding.
# Dense layers are 1x1 "convolutions" of a 1x1 input: (batch, 1, in, out, 1, 1).
LAYERS = {
    "mlp_input": (128, 1, 2352, 512, 1, 1),
    "mlp_3x512_hidden": (128, 1, 512, 512, 1, 1),
    "small_cnn_conv2": (64, 14, 32, 64, 3, 1),
    "alexnet_small_conv1": (128, 28, 3, 64, 5, 1),
    "alexnet_small_conv2": (128, 14, 64, 64, 5, 1),
    "lenet_conv2": (128, 32, 6, 6, 3, 1),
    "lenet_conv6": (128, 8, 64, 64, 3, 1),
    "inception_small_stem": (128, 28, 3, 96, 3, 1),
    "inception_small_3x3": (128, 28, 96, 32, 3, 1),
    "rwc_alexnet_conv3": (128, 8, 192, 384, 3, 1),
    "wrn_16_10_stage1": (128, 32, 160, 160, 3, 1),
    "wrn_16_10_stage2": (128, 16, 320, 320, 3, 1),
}
PASSES = ("forward", "dX", "dW")

flags.DEFINE_list("layers", list(LAYERS), f"Convolutions to time, of {', '.join(LAYERS)}.")
flags.DEFINE_integer("repeats", 5, "Interleaved repeats; the time is their median.")
FLAGS = flags.FLAGS


def _is_dense(size: int, kernel: int) -> bool:
  return size == kernel == 1


def _xla_passes(batch, size, cin, cout, kernel, stride):
  """The three jitted passes of one SAME-padded NHWC convolution (or dense layer: a matrix
  product, as flax's Dense), and their arguments."""
  key = jax.random.PRNGKey(0)
  dense = _is_dense(size, kernel)
  x = jax.random.normal(key, (batch, cin) if dense else (batch, size, size, cin))
  w = jax.random.normal(key, (cin, cout) if dense else (kernel, kernel, cin, cout)) * 0.05

  def layer(x, w):
    if dense:
      return x @ w
    return jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))

  dy = jnp.ones(jax.eval_shape(layer, x, w).shape)
  return {"forward": (jax.jit(layer), (x, w)),
          "dX": (jax.jit(lambda w, dy: jax.vjp(lambda x: layer(x, w), x)[1](dy)[0]), (w, dy)),
          "dW": (jax.jit(lambda x, dy: jax.vjp(lambda w: layer(x, w), w)[1](dy)[0]), (x, dy))}


def _torch_passes(batch, size, cin, cout, kernel, stride):
  """The same three passes in PyTorch (NCHW), as its autograd runs them."""
  if _is_dense(size, kernel):
    x, w = torch.randn(batch, cin), torch.randn(cout, cin) * 0.05
    dy = torch.ones(batch, cout)
    # nn.Linear's three products: x w^T, dy w, dy^T x.
    return {"forward": lambda: x @ w.T, "dX": lambda: dy @ w, "dW": lambda: dy.T @ x}
  x = torch.randn(batch, cin, size, size)
  w = torch.randn(cout, cin, kernel, kernel) * 0.05

  def conv(x, w):
    return torch.nn.functional.conv2d(x, w, stride=stride, padding=kernel // 2)

  dy = torch.ones_like(conv(x, w))
  grad = torch.nn.grad
  return {"forward": (lambda: conv(x, w)),
          "dX": (lambda: grad.conv2d_input(x.shape, w, dy, stride=stride, padding=kernel // 2)),
          "dW": (lambda: grad.conv2d_weight(x, w.shape, dy, stride=stride,
                                            padding=kernel // 2))}


def _time(fn, *args) -> float:
  start = time.perf_counter()
  out = fn(*args)
  if isinstance(out, jax.Array):
    out.block_until_ready()
  return time.perf_counter() - start


def benchmark(name: str) -> list[dict]:
  """Rows (one per pass) of milliseconds and GFLOP/s of XLA and PyTorch for one layer."""
  batch, size, cin, cout, kernel, stride = LAYERS[name]
  out_size = -(-size // stride)
  gflop = 2 * batch * out_size * out_size * cout * cin * kernel * kernel / 1e9
  xla, pytorch = _xla_passes(*LAYERS[name]), _torch_passes(*LAYERS[name])
  rows = []
  with torch.no_grad():
    for pass_name in PASSES:
      fn, args = xla[pass_name]
      _time(fn, *args), _time(fn, *args), _time(pytorch[pass_name])  # Compile, warm up.
      times = {"xla": [], "pytorch": []}
      for _ in range(FLAGS.repeats):
        times["xla"].append(_time(fn, *args))
        times["pytorch"].append(_time(pytorch[pass_name]))
      xla_s, torch_s = (statistics.median(times[k]) for k in ("xla", "pytorch"))
      rows.append({"layer": name, "pass": pass_name, "xla_ms": 1e3 * xla_s,
                   "pytorch_ms": 1e3 * torch_s, "xla_gflops": gflop / xla_s,
                   "pytorch_gflops": gflop / torch_s, "ratio": torch_s / xla_s})
  return rows


def main(argv):
  del argv
  unknown = sorted(set(FLAGS.layers) - set(LAYERS))
  if unknown:
    raise app.UsageError(f"--layers: unknown {unknown}; valid choices: {', '.join(LAYERS)}")
  print(f"jax {jax.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
        f"fp32 peak {machine.peak_gflops():.0f} GFLOP/s", flush=True)
  print("| layer (batch, size, in, out, kernel, stride) | pass | XLA ms | PyTorch ms | "
        "XLA GFLOP/s (% of peak) | PyTorch GFLOP/s | PyTorch time / XLA time |")
  print("|---|---|---|---|---|---|---|")
  for name in FLAGS.layers:
    for r in benchmark(name):
      print(f"| {name} {LAYERS[name]} | {r['pass']} | {r['xla_ms']:.1f} | {r['pytorch_ms']:.1f} | "
            f"{r['xla_gflops']:.0f} ({100 * r['xla_gflops'] / machine.peak_gflops():.0f}%) | "
            f"{r['pytorch_gflops']:.0f} | {r['ratio']:.2f}x |", flush=True)


if __name__ == "__main__":
  app.run(main)
