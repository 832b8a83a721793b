"""Where jaxgen's train step spends its time, op by op, from a JAX profiler trace.

  python -m benchmarks.profile_step [--model=mlp_3x512] [--steps=10] [--top=15]

Runs `--steps` steps of one of `vs_pytorch.py`'s models (one seed, batch 128, synthetic
data, the default config's per-layer metrics) under `jax.profiler.trace`, reads the Perfetto
trace it writes, and prints the time of each compiled op (XLA:CPU's thunks: convolutions,
matrix products, fusions of elementwise ops, copies) per step and as a share of all ops' time,
the largest first, after their total per kind of op. Names are those of the optimized HLO
(`jax.jit(...).lower(...).compile().as_text()` shows what each computes). Run it as a module
from the repository root.
"""

import collections
import glob
import gzip
import json
import os
import re
import tempfile

import jax
from absl import app, flags

from benchmarks import vs_pytorch

flags.DEFINE_string("model", "mlp_3x512", "Model to profile, one of vs_pytorch's models.")
flags.DEFINE_integer("top", 15, "Ops to list.")
FLAGS = flags.FLAGS

# Compiled ops are named as in the optimized HLO (`dot.10`, `multiply_add_fusion.13`,
# `wrapped_reduce`); the runtime's own spans have spaces, colons or capitals.
_HLO_NAME = re.compile(r"^[a-z][a-z0-9_\-]*(\.[0-9]+)?$")


def op_times(trace_dir: str) -> dict[str, float]:
  """Microseconds per op name, summed over the Perfetto trace written into `trace_dir`."""
  path = sorted(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True))[-1]
  with gzip.open(path) as f:
    trace = json.load(f)
  events = trace["traceEvents"] if isinstance(trace, dict) else trace
  times = collections.Counter()
  for event in events:
    if event.get("ph") == "X" and _HLO_NAME.match(event["name"]):
      times[event["name"]] += event.get("dur", 0)
  return dict(times)


_INSTRUCTION = re.compile(r"^\s*(ROOT )?%([\w.\-]+) = .*? ([\w\-]+)\(")
_CALLS = re.compile(r"calls=%([\w.\-]+)")


def op_kinds(hlo_text: str) -> dict[str, str]:
  """The kind of every instruction of an optimized HLO module: a fusion is a convolution or a
  matrix product if its computation holds one (XLA:CPU hands those to Eigen or YNNPACK),
  else a fusion of elementwise ops."""
  bodies, name, lines = {}, None, []
  for line in hlo_text.splitlines():
    if not line.startswith(" ") and ("{" in line):
      name, lines = line.split()[1 if line.startswith("ENTRY") else 0].lstrip("%"), []
    elif line.startswith("}") and name:
      bodies[name] = "\n".join(lines)
    else:
      lines.append(line)
  kinds = {}
  for body in bodies.values():
    for line in body.splitlines():
      match = _INSTRUCTION.match(line)
      if not match:
        continue
      op, opcode = match.group(2), match.group(3)
      called = _CALLS.search(line)
      inner = bodies.get(called.group(1), "") if called else ""
      if opcode == "convolution" or " convolution(" in inner:
        kinds[op] = "convolution"
      elif opcode == "dot" or " dot(" in inner:
        kinds[op] = "matrix product"
      elif opcode in ("copy", "transpose"):
        kinds[op] = "copy / transpose"
      elif opcode == "fusion":
        kinds[op] = "fusion of elementwise ops"
      else:
        kinds[op] = "other ops"
  return kinds


def main(argv):
  del argv
  if FLAGS.model not in vs_pytorch.MODELS:
    raise app.UsageError(f"--model: unknown {FLAGS.model!r}; valid choices: "
                         f"{', '.join(vs_pytorch.MODELS)}")
  height, width, channels = vs_pytorch.MODELS[FLAGS.model][2]
  data = vs_pytorch.synthetic_data(height, width, channels)
  runner = vs_pytorch.JaxRunner(FLAGS.model, 1, "auto", data, metrics=True)
  kinds = op_kinds(runner.compiled_step().as_text())
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
      runner.run(FLAGS.steps)
    times = op_times(trace_dir)
  total = sum(times.values())
  steps = FLAGS.steps
  print(f"{FLAGS.model}: {total / 1e3 / steps:.1f} ms of compiled ops per step "
        f"(batch {FLAGS.batch_size}, {steps} steps)")
  by_kind = collections.Counter()
  for op, us in times.items():
    by_kind[kinds.get(op, "other ops")] += us
  for name, us in by_kind.most_common():
    print(f"  {100 * us / total:5.1f}%  {us / 1e3 / steps:7.2f} ms  {name}")
  print(f"largest {FLAGS.top} ops:")
  for op, us in sorted(times.items(), key=lambda item: -item[1])[:FLAGS.top]:
    print(f"  {100 * us / total:5.1f}%  {us / 1e3 / steps:7.2f} ms  {op} "
          f"({kinds.get(op, 'other ops')})")


if __name__ == "__main__":
  app.run(main)
