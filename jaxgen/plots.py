"""Figures drawn from a run's `metrics.jsonl`, so a finished workdir is all they need."""

import os
from collections import defaultdict
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxgen.run_log import read_metrics  # noqa: E402

Rows = list[dict[str, Any]]


def panel_grid(count: int, columns: int, panel_size: tuple[float, float],
               **subplot_kwargs) -> tuple[plt.Figure, np.ndarray]:
  """A figure of `count` panels, `columns` per row (fewer if there are fewer panels); the
  unused cells of the last row are hidden. Returns (figure, 2-d array of axes)."""
  columns = min(columns, count)
  rows = -(-count // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns,
                                                   panel_size[1] * rows),
                           squeeze=False, **subplot_kwargs)
  for ax in list(axes.flat)[count:]:
    ax.set_visible(False)
  return fig, axes


def save_figure(fig: plt.Figure, path: str, dpi: int = 110) -> None:
  """Lays out, writes (creating the folder) and closes `fig`."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.tight_layout()
  fig.savefig(path, dpi=dpi)
  plt.close(fig)


def _seed_mean(rows: Rows, split: str, key: str) -> tuple[np.ndarray, np.ndarray]:
  """(epochs, values averaged over seeds) of `key` on `split` rows."""
  by_epoch = defaultdict(list)
  for row in rows:
    if row["split"] == split and isinstance(row.get(key), int | float):
      by_epoch[row["epoch"]].append(row[key])
  epochs = np.array(sorted(by_epoch))
  return epochs, np.array([np.mean(by_epoch[e]) for e in epochs])


def layer_keys(rows: Rows, metric: str) -> list[str]:
  """The "<metric>/<layer>" keys present in the rows, in network order."""
  keys = []
  for row in rows:
    keys.extend(k for k in row if k.startswith(metric + "/") and k not in keys)
  return keys


def plot_learning_curves(rows: Rows, path: str) -> None:
  """Loss and accuracy against epoch for every split (mean over seeds)."""
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for split in sorted({row["split"] for row in rows}):
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
      epochs, values = _seed_mean(rows, split, key)
      ax.plot(epochs, values, marker=".", label=split)
  for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.legend()
  axes[0].set_yscale("log")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def plot_per_layer(rows: Rows, metric: str, path: str, ylabel: str,
                   start_at_zero: bool = False, ylim: tuple[float, float] | None = None) -> None:
  """One curve per layer against epoch, coloured by depth (viridis: first layer dark).

  Args:
    rows: rows of metrics.jsonl.
    metric: the metric name, e.g. "layer_rotation".
    path: where to write the PNG.
    ylabel: the y-axis label.
    start_at_zero: prepend the value 0 at epoch 0 (layer rotation is 0 at initialisation).
    ylim: fixed y-axis limits.
  """
  keys = layer_keys(rows, metric)
  fig, ax = plt.subplots(figsize=(6, 4))
  colours = plt.cm.viridis(np.linspace(0, 1, max(len(keys), 1)))
  for colour, key in zip(colours, keys, strict=False):
    epochs, values = _seed_mean(rows, "train", key)
    if start_at_zero:
      epochs, values = np.r_[0, epochs], np.r_[0.0, values]
    ax.plot(epochs, values, color=colour, label=key.removeprefix(metric + "/"))
  ax.set_xlabel("epoch")
  ax.set_ylabel(ylabel)
  if ylim:
    ax.set_ylim(*ylim)
  if 0 < len(keys) <= 12:
    ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


# The per-layer metrics that get a figure: y-axis label and plot_per_layer options.
PER_LAYER_FIGURES = {
    "layer_rotation": ("cosine distance to initialisation",
                       {"start_at_zero": True, "ylim": (0, 1)}),
    "projection_mass": ("fraction of filters with projection <= 0", {"ylim": (0, 1)}),
    "relative_weight_change": ("relative weight change per epoch", {}),
    "forward_correlation": ("mean correlation of output channels", {"ylim": (-1, 1)}),
    "backward_correlation": ("mean correlation of input channels", {"ylim": (-1, 1)}),
    "kernel_correlation": ("mean correlation of kernels", {"ylim": (-1, 1)}),
}


def plot_run(workdir: str) -> list[str]:
  """Draws every figure the run's logs support into `workdir/figures`; returns their paths."""
  rows = read_metrics(workdir)
  figures = os.path.join(workdir, "figures")
  os.makedirs(figures, exist_ok=True)
  written = []
  if rows:
    written.append(os.path.join(figures, "learning_curves.png"))
    plot_learning_curves(rows, written[-1])
  for metric, (ylabel, options) in PER_LAYER_FIGURES.items():
    if layer_keys(rows, metric):
      written.append(os.path.join(figures, f"{metric}.png"))
      plot_per_layer(rows, metric, written[-1], ylabel, **options)
  return written
