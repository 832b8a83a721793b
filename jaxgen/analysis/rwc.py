"""Relative weight change (Agrawal et al. 2020) from finished runs, averaged over seeds.

  python -m jaxgen.analysis.rwc /tmp/rwc/cifar10            # a sweep root or run workdirs
  python -m jaxgen.analysis.rwc RUN... --out=/tmp/rwc.png

Reads each run's `metrics.jsonl` (the "relative_weight_change/<layer>" values the trainer
logged once per epoch). Runs whose configs differ only in their seeds (`launch.local
--separate_seeds`) are pooled into one setting. Per setting it prints the train and test
accuracy at the last epoch (mean and per seed), each layer's seed-averaged RWC at epoch 1, at
the last epoch and averaged over the epochs after the first (epoch 1, against the
initialisation, is orders of magnitude larger and would dominate a plain mean), and the
paper's layer groups (ResNet-18 blocks, VGG and AlexNet early/middle/later) averaged the same
way; it draws one panel per setting: every layer's seed-averaged RWC
against epoch (viridis, first layer dark), on a log scale because RWC falls by orders of
magnitude after epoch 1.

A seed that a stopping rule ended logs no further rows; each epoch's mean is taken over the
seeds still training at that epoch (the original `multi_train.py` divided by a hard-coded 5
and broke on shorter runs).
"""

import dataclasses
import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from jaxgen import plots, run_log  # noqa: E402
from jaxgen.config import read_run_config

METRIC = "relative_weight_change"
Rows = list[dict[str, Any]]


@dataclasses.dataclass
class Setting:
  """The runs of one configuration, pooled over their seeds."""

  workdirs: list[str]
  config: dict[str, Any]  # The first run's config; `seeds` lists the pooled seeds.
  rows: Rows
  stop_epochs: dict[int, float]  # Seed -> the epoch a stopping rule ended it at.


def _without_seeds(config: dict[str, Any]) -> str:
  return json.dumps({k: v for k, v in config.items() if k != "seeds"}, sort_keys=True)


def pool_seeds(workdirs: Sequence[str]) -> list[Setting]:
  """Groups runs whose configs differ only in `seeds`, in the order of their first run.

  Raises:
    ValueError: if a seed appears in two runs of the same setting.
  """
  settings: dict[str, Setting] = {}
  for workdir in workdirs:
    config = read_run_config(workdir)
    summary = run_log.read_summary(workdir) or {}
    stops = {int(seed): stop["epoch"] for seed, stop in summary.get("stopped", {}).items()}
    setting = settings.setdefault(_without_seeds(config), Setting(
        [], {**config, "seeds": []}, [], {}))
    repeated = set(setting.config["seeds"]) & set(config["seeds"])
    if repeated:
      raise ValueError(f"{workdir} repeats seed(s) {sorted(repeated)} of {setting.workdirs}")
    setting.workdirs.append(workdir)
    setting.config["seeds"] += list(config["seeds"])
    setting.rows += run_log.read_metrics(workdir)
    setting.stop_epochs.update(stops)
  return list(settings.values())


def seed_averaged_curves(rows: Rows, stop_epochs: dict[int, float] | None = None
                         ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
  """Each layer's RWC per epoch, averaged over the seeds still training at that epoch.

  Args:
    rows: rows of a run's metrics.jsonl.
    stop_epochs: seed -> the epoch it stopped at; its later rows are left out.

  Returns:
    (epochs, {layer path: mean RWC per epoch}), layers in network order.
  """
  stop_epochs = stop_epochs or {}
  layers = [key.removeprefix(METRIC + "/") for key in plots.layer_keys(rows, METRIC)]
  values = defaultdict(list)  # (layer, epoch) -> values over seeds.
  for row in rows:
    if row["split"] != "train" or row["epoch"] > stop_epochs.get(row["seed"], np.inf):
      continue
    for layer in layers:
      if f"{METRIC}/{layer}" in row:
        values[(layer, row["epoch"])].append(row[f"{METRIC}/{layer}"])
  epochs = np.array(sorted({epoch for _, epoch in values}))
  return epochs, {layer: np.array([np.mean(values[(layer, e)]) for e in epochs])
                  for layer in layers}


def layer_groups(model: str, layers: Sequence[str]) -> dict[str, list[str]]:
  """The paper's groups of layers for its three architectures ({} for other models).

  ResNet-18: the stem conv, "Block k" = the four 3x3 convs of stage k, the 1x1 shortcut
  convs, the classifier. VGG19-BN: convs 1-4 early, 5-11 middle, 12-16 later (the paper's
  "later = 11+" overlaps its "middle = 5-11"; conv 11 is counted as middle), the classifier.
  AlexNet: conv 1 early, convs 2-3 middle, convs 4-5 later, the three dense layers.

  Args:
    model: `config.model.name`.
    layers: kernel paths in network order (e.g. "layer005_conv/kernel").

  Returns:
    Group name -> its layers, in network order.
  """
  convs = [layer for layer in layers if re.search(r"_conv/", layer)]
  dense = [layer for layer in layers if re.search(r"_dense/", layer)]
  if model == "resnet18":
    blocks = {f"block{k + 1}": convs[1 + 4 * k:5 + 4 * k] for k in range(4)}
    shortcuts = [layer for layer in layers if re.search(r"_shortcut/", layer)]
    return {"stem": convs[:1], **blocks, "shortcuts": shortcuts, "classifier": dense}
  if model == "vgg19_bn":
    return {"early": convs[:4], "middle": convs[4:11], "later": convs[11:],
            "classifier": dense}
  if model == "alexnet_cifar":
    return {"early": convs[:1], "middle": convs[1:3], "later": convs[3:], "dense": dense}
  return {}


def final_accuracies(rows: Rows, split: str) -> np.ndarray:
  """Each seed's accuracy on `split` in its last logged row."""
  last = {}
  for row in rows:
    if row["split"] == split:
      last[row["seed"]] = row["accuracy"]
  return np.array([last[seed] for seed in sorted(last)])


def _after_first_epoch(curve: np.ndarray) -> float:
  """Mean RWC over the epochs after the first (epoch 1 alone if there is no other)."""
  return float(curve[1:].mean() if len(curve) > 1 else curve[0])


def summarise(setting: Setting) -> str:
  """The printed report of one setting: accuracies, per-layer and per-group mean RWC."""
  rows, config = setting.rows, setting.config
  epochs, curves = seed_averaged_curves(rows, setting.stop_epochs)
  lines = [f"{', '.join(setting.workdirs)}: {config['model']['name']} on "
           f"{config['data']['name']}, seeds {config['seeds']}, {len(epochs)} epochs, "
           f"rwc_variant={config['metrics']['rwc_variant']}"]
  for split in ("train", "test"):
    accuracy = final_accuracies(rows, split)
    if len(accuracy):
      lines.append(f"  final {split} accuracy {100 * accuracy.mean():.2f}% "
                   f"(seeds {', '.join(f'{100 * a:.2f}' for a in accuracy)})")
  later = {layer: _after_first_epoch(curve) for layer, curve in curves.items()}
  lines.append("  layer                      epoch 1    epochs 2+  last epoch")
  for layer, curve in curves.items():
    lines.append(f"  {layer:26s} {curve[0]:.3e}  {later[layer]:.3e}  {curve[-1]:.3e}")
  groups = layer_groups(config["model"]["name"], list(curves))
  if groups:
    lines.append("  group        RWC over epochs 2+ (mean over its layers, seeds and epochs)")
    for name, members in groups.items():
      if members:
        lines.append(f"  {name:12s} {np.mean([later[m] for m in members]):.3e}")
  return "\n".join(lines)


def plot_curves(settings: Sequence[Setting], path: str, columns: int = 3) -> None:
  """One panel per setting: each layer's seed-averaged RWC against epoch (log scale)."""
  fig, axes = plots.panel_grid(len(settings), columns, (4.2, 3.2))
  for ax, setting in zip(axes.flat, settings, strict=False):
    config = setting.config
    epochs, curves = seed_averaged_curves(setting.rows, setting.stop_epochs)
    colours = plt.cm.viridis(np.linspace(0, 1, max(len(curves), 1)))
    for colour, curve in zip(colours, curves.values(), strict=False):
      ax.plot(epochs, np.maximum(curve, 1e-12), color=colour, lw=1)
    ax.set_yscale("log")
    ax.set_title(f"{config['model']['name']} / {config['data']['name']} "
                 f"({len(config['seeds'])} seeds)", fontsize=9)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"RWC ({config['metrics']['rwc_variant']})")
  plots.save_figure(fig, path)




def main(argv: list[str]) -> None:
  if len(argv) < 2:
    raise app.UsageError(f"usage: {argv[0]} PATH... [--out=PNG]")
  settings = pool_seeds(run_log.run_dirs(argv[1:]))
  for setting in settings:
    print(summarise(setting))
  out = flags.FLAGS.out or os.path.join(argv[1], "figures", "rwc_curves.png")
  plot_curves(settings, out)
  print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_string("out", None, "PNG to write (default: <first path>/figures/rwc_curves.png).")
  app.run(main)
