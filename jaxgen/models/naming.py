"""Module names that sort in network order.

jax rebuilds parameter dicts in sorted key order, so `path_rules.layer_paths` can only list
kernels in the order the network calls them if their names sort that way: a zero-padded call
index ("layer007_conv") does.
"""


class LayerNamer:
  """Hands out "layer007_conv"-style names; the index counts kernel layers in network order."""

  def __init__(self):
    self.index = -1

  def kernel(self, kind: str) -> str:
    self.index += 1
    return f"layer{self.index:03d}_{kind}"

  def bn_after(self) -> str:
    return f"layer{self.index:03d}_bn"

  def bn_before(self) -> str:
    return f"layer{self.index + 1:03d}_bn"
