"""Initialisations of the feature-diversity study (Blumenfeld et al.): VarNet's random fan-out
inits, ConstNet's averaging kernels and LeakyNet's per-layer init codes."""

import math
from collections.abc import Iterator

import flax.linen as nn
import jax
import jax.numpy as jnp

Initializer = nn.initializers.Initializer

# VarNet (`--varnet`): block convs N(0, sqrt(2) * sqrt(1 / (9 * C_out))), 1x1 shortcuts
# N(0, sqrt(1 / C_out)), conv1 N(0, sqrt(1 / (9 * 16))): all fan-out, untruncated.
VARNET_BLOCK_INIT = nn.initializers.variance_scaling(2.0, "fan_out", "normal")
VARNET_SHORTCUT_INIT = nn.initializers.variance_scaling(1.0, "fan_out", "normal")
VARNET_CONV1_INIT = nn.initializers.variance_scaling(1.0, "fan_out", "normal")
# LeakyNet init codes: (noise-free weight of the pattern, pattern); 'h' is pure noise.
LEAKY_INIT_CODES = {"h": (0.0, "average"), "1": (1.0, "average"), "i": (1.0, "identity"),
                    "k": (0.99, "identity"), "n": (0.99, "average")}
# `lrnet_experiment.sh` (all at depth 16, widen factor 10, BN, lrelu 0.01).
LEAKYNET_EXPERIMENTS = ("h_hhhh_hhhh_hhhh", "i_iiii_iiii_iiii", "1_iiii_iiii_iiii",
                        "1_iiii_11ii_iiii", "1_iiii_1111_iiii", "1_ii11_ii11_ii11",
                        "1_1111_1111_1111")


def blocks_per_stage(depth: int) -> int:
  """n = (depth - 4) / 3 one-conv blocks per stage; raises ValueError for other depths."""
  if depth < 7 or (depth - 4) % 3:
    raise ValueError(f"depth={depth}: must be 3n + 4 with n >= 1 blocks per stage "
                     "(e.g. 10, 16, 22, 28)")
  return (depth - 4) // 3


def block_layout(depth: int, widen_factor: int) -> Iterator[tuple[int, int, int]]:
  """Yields (stage, width, stride) per block: widths 16k, 32k, 64k; stride 2 opens stages 2, 3."""
  n = blocks_per_stage(depth)
  for stage, width in enumerate((16 * widen_factor, 32 * widen_factor, 64 * widen_factor)):
    for block in range(n):
      yield stage, width, 2 if stage > 0 and block == 0 else 1


def centre_average_init(key, shape, dtype=jnp.float32) -> jnp.ndarray:
  """ConstNet's averaging init: zero except the centre tap, 1 / C_in for every (in, out) pair.

  On a 1x1 kernel (the shortcuts) every entry is 1 / C_in. `key` is unused.
  """
  del key
  kh, kw, c_in, _ = shape
  return jnp.zeros(shape, dtype).at[kh // 2, kw // 2].set(1 / c_in)


def leaky_init(code: str, phase: int, lrelu: float, layer: str = "conv") -> Initializer:
  """The LRNet init of one conv (`ConstAny` in `remodel.py`), as a flax kernel initializer.

  With gain = sqrt(2) * (1 + lrelu), fan_in = kh * kw * C_in and the pattern P scaled by
  `phase` (and by 1 / lrelu when phase is -1 and lrelu > 0, so that an identity layer followed
  by a -I / lrelu layer computes exactly -x through the two leaky ReLUs):
    'h': N(0, sqrt(gain / fan_in)) (variance gain, not gain**2, as the code);
    '1': the averaging pattern, centre tap P[o, i] = 1 / C_in;
    'i': the identity pattern, centre tap P[o, o mod C_in] = 1 (needs C_out >= C_in);
    'k': N(0, sqrt(gain * 0.01 / fan_in)) + 0.99 * the identity pattern;
    'n': N(0, sqrt(gain * 0.01 / fan_in)) + 0.99 * the averaging pattern.
  (The code maps every character other than 'h', '1', 'i', 'k' to the noisy average.)

  Args:
    code: one of "h1ikn".
    phase: +1 (conv1 and even blocks) or -1 (odd blocks).
    lrelu: the leaky ReLU slope.
    layer: the layer's name, for error messages.

  Returns:
    A flax initializer for HWIO kernels.
  """
  if code not in LEAKY_INIT_CODES:
    raise ValueError(f"init code {code!r} for {layer} is not one of the valid codes "
                     f"{', '.join(LEAKY_INIT_CODES)}")
  const, pattern = LEAKY_INIT_CODES[code]
  gain = math.sqrt(2) * (1 + lrelu)
  factor = phase * const
  if phase < 0 and lrelu > 0:
    factor /= lrelu

  def init(key, shape, dtype=jnp.float32):
    kh, kw, c_in, c_out = shape
    if pattern == "identity" and c_out < c_in:
      raise ValueError(f"init code {code!r} (identity) for {layer} needs output channels >= "
                       f"input channels, got {c_in} -> {c_out}")
    if const < 1:
      weights = jax.random.normal(key, shape, dtype) * math.sqrt(
          gain * (1 - const) / (kh * kw * c_in))
    else:
      weights = jnp.zeros(shape, dtype)
    if const > 0:
      if pattern == "identity":
        out = jnp.arange(c_out)
        weights = weights.at[kh // 2, kw // 2, out % c_in, out].add(factor)
      else:
        weights = weights.at[kh // 2, kw // 2].add(factor / c_in)
    return weights

  return init


def parse_init_string(init: str, depth: int) -> tuple[str, ...]:
  """Splits an LRNet init string ("1_iiii_11ii_iiii") into one code per conv.

  Underscores are ignored; the first code is conv1's, the next 3n the block convs' in order.

  Args:
    init: the init string.
    depth: the network depth (3n + 4).

  Returns:
    The 1 + 3n codes.

  Raises:
    ValueError: if the length or a code is invalid.
  """
  codes = tuple(init.replace("_", ""))
  expected = 1 + 3 * blocks_per_stage(depth)
  if len(codes) != expected:
    raise ValueError(f"init={init!r}: needs exactly {expected} codes (conv1 and {expected - 1} "
                     f"block convs at depth {depth}; underscores ignored), got {len(codes)}")
  invalid = sorted({c for c in codes if c not in LEAKY_INIT_CODES})
  if invalid:
    raise ValueError(f"init={init!r}: invalid codes {invalid}; valid codes: "
                     f"{', '.join(LEAKY_INIT_CODES)}")
  return codes
