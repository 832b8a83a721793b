"""The machine the benchmarks run on: its nominal fp32 peak, for achieved-FLOP/s shares."""

import statistics

from absl import flags

flags.DEFINE_float("peak_gflops", 0.0, "The machine's fp32 peak GFLOP/s (0: estimated from "
                   "/proc/cpuinfo by `nominal_peak_gflops`).")
FLAGS = flags.FLAGS


def nominal_peak_gflops() -> float:
  """The CPU's nominal fp32 peak: cores x base clock x FLOPs per cycle of its widest FMA (two
  FMA units of 16 floats with AVX-512, of 8 with AVX2), from /proc/cpuinfo; NaN if unknown.

  Boost clocks run above the base clock, so a fast kernel can exceed it by a few tens of %.
  """
  try:
    with open("/proc/cpuinfo") as f:
      info = f.read()
  except OSError:
    return float("nan")
  flag_lines = [line for line in info.splitlines() if line.startswith("flags")]
  mhz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
  if not flag_lines or not mhz:
    return float("nan")
  cpu_flags = set(flag_lines[0].split(":")[1].split())
  lanes = 16 if "avx512f" in cpu_flags else 8 if "fma" in cpu_flags else 4
  flops_per_cycle = 2 * lanes * 2  # Two FMA units, two FLOPs per lane.
  return len(mhz) * statistics.median(mhz) / 1e3 * flops_per_cycle


def peak_gflops() -> float:
  """`--peak_gflops`, or the nominal peak of this CPU when it is 0."""
  return FLAGS.peak_gflops or nominal_peak_gflops()
