"""Relative weight change (Agrawal et al. 2020) from finished runs, averaged over seeds.

  python -m jaxgen.analysis.rwc /tmp/rwc/cifar10            # a sweep directory or runs
  python -m jaxgen.analysis.rwc PATH... --out=/tmp/rwc         # figure: DIR/rwc_curves.png

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

import re
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from jaxgen import plots
from jaxgen.analysis import cli
from jaxgen.analysis.runs import Run, load_runs, pool_seeds

METRIC = "relative_weight_change"


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


def final_accuracies(run: Run, split: str) -> np.ndarray:
  """Each seed's accuracy on `split` in its last logged row, in seed order."""
  last = [run.last_rows(seed).get(split) for seed in sorted(run.seeds)]
  return np.array([row["accuracy"] for row in last if row is not None])


def _after_first_epoch(curve: np.ndarray) -> float:
  """Mean RWC over the epochs after the first (epoch 1 alone if there is no other)."""
  return float(curve[1:].mean() if len(curve) > 1 else curve[0])


def group_means(setting: Run) -> dict[str, float]:
  """The RWC of each of the paper's layer groups ({} for other models).

  Per layer, the seed-averaged RWC over epochs 2+ (epoch 1, against the initialisation, is up
  to an order of magnitude larger and would dominate a plain mean); then the mean over the
  group's layers.

  Args:
    setting: a run, or runs pooled by `runs.pool_seeds`.

  Returns:
    Group name -> RWC, in network order of the groups.
  """
  _, curves, _ = plots.layer_curves(setting.rows, METRIC, stop_epochs=setting.stop_epochs)
  later = {layer: _after_first_epoch(curve) for layer, curve in curves.items()}
  groups = layer_groups(setting.config["model"]["name"], list(curves))
  return {name: float(np.mean([later[m] for m in members]))
          for name, members in groups.items() if members}


def summarise(setting: Run) -> str:
  """The printed report of one setting (a run, or runs pooled by `pool_seeds`): accuracies,
  per-layer and per-group mean RWC."""
  config = setting.config
  epochs, curves, _ = plots.layer_curves(setting.rows, METRIC, stop_epochs=setting.stop_epochs)
  lines = [f"{', '.join(setting.workdirs)}: {config['model']['name']} on "
           f"{config['data']['name']}, seeds {config['seeds']}, {len(epochs)} epochs, "
           f"rwc_variant={config['metrics']['rwc_variant']}"]
  for split in ("train", "test"):
    accuracy = final_accuracies(setting, split)
    if len(accuracy):
      lines.append(f"  final {split} accuracy {100 * accuracy.mean():.2f}% "
                   f"(seeds {', '.join(f'{100 * a:.2f}' for a in accuracy)})")
  later = {layer: _after_first_epoch(curve) for layer, curve in curves.items()}
  lines.append("  layer                      epoch 1    epochs 2+  last epoch")
  for layer, curve in curves.items():
    lines.append(f"  {layer:26s} {curve[0]:.3e}  {later[layer]:.3e}  {curve[-1]:.3e}")
  groups = group_means(setting)
  if groups:
    lines.append("  group        RWC over epochs 2+ (mean over its layers, seeds and epochs)")
    lines.extend(f"  {name:12s} {value:.3e}" for name, value in groups.items())
  return "\n".join(lines)


def plot_curves(settings: Sequence[Run], path: str, columns: int = 3) -> None:
  """One panel per setting: each layer's RWC averaged over the seeds against epoch (log
  scale; the band: the smallest to the largest seed), one layer colour key for all panels."""
  fig, axes = plots.panel_grid(len(settings), columns, (4.2, 3.2))
  layers = 0
  for ax, setting in zip(axes.flat, settings, strict=False):
    config = setting.config
    stop_epochs = setting.stop_epochs
    epochs, curves, _ = plots.layer_curves(setting.rows, METRIC, stop_epochs=stop_epochs)
    plots.draw_layer_curves(ax, epochs, curves, log=True, key=False, lw=1)
    if len(setting.seeds) > 1:
      # Per-seed curves give the band (a ± s.d. band would cross 0 on the log axis).
      per_seed = [plots.layer_curves(setting.rows, METRIC, seed=seed, stop_epochs=stop_epochs)
                  for seed in setting.seeds]
      colours = plt.cm.viridis(np.linspace(0, 1, max(len(curves), 1)))
      for colour, layer in zip(colours, curves, strict=False):
        seed_values = np.array([[dict(zip(e, c[layer], strict=True)).get(x, np.nan)
                                 for x in epochs] for e, c, _ in per_seed])
        ax.fill_between(epochs, np.nanmin(seed_values, 0), np.nanmax(seed_values, 0),
                        color=colour, alpha=0.15, lw=0)
    layers = max(layers, len(curves))
    ax.set_title(f"{config['model']['name']} / {config['data']['name']}\n"
                 f"mean of {len(config['seeds'])} seeds (band: min-max over seeds)", fontsize=8)
    ax.set_ylabel(f"RWC per epoch ({config['metrics']['rwc_variant']})")
  plots.add_layer_key(fig, axes, layers)
  plots.save_figure(fig, path)


def main(args: cli.Invocation) -> None:
  """Prints each setting's report and draws the curves into --out/rwc_curves.png."""
  settings = pool_seeds(load_runs(args.paths))
  for setting in settings:
    print(summarise(setting))
  out = args.output("rwc_curves.png")
  plot_curves(settings, out)
  print(f"wrote {out}")


if __name__ == "__main__":
  cli.run(main)
