"""Figures drawn from a run's `metrics.jsonl`, so a finished workdir is all they need, and
the pieces every analysis draws with: panel grids, saving, and the per-layer curves
(`layer_curves` computes them from rows, `draw_layer_curves` draws them on any axes)."""

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
  unused cells of the last row are hidden. The figure uses the constrained layout, which
  keeps titles, figure legends and colourbars apart. Returns (figure, 2-d array of axes)."""
  columns = min(columns, count)
  rows = -(-count // columns)
  fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns,
                                                   panel_size[1] * rows),
                           squeeze=False, layout="constrained", **subplot_kwargs)
  for ax in list(axes.flat)[count:]:
    ax.set_visible(False)
  return fig, axes


def save_figure(fig: plt.Figure, path: str, dpi: int = 110) -> None:
  """Lays out (unless the figure has its own layout engine), writes (creating the folder) and
  closes `fig`."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  if fig.get_layout_engine() is None:
    fig.tight_layout()
  fig.savefig(path, dpi=dpi)
  plt.close(fig)


def _mean_and_spread(values: list[float]) -> tuple[float, float]:
  """Mean and sample standard deviation (as the console prints) of the finite values (NaN, NaN
  when there is none; a spread of 0 for one value)."""
  finite = [v for v in values if np.isfinite(v)]
  if not finite:
    return np.nan, np.nan
  spread = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
  return float(np.mean(finite)), spread


def _seed_stats(rows: Rows, key: str,
                epochs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(epochs, mean over the rows of each epoch, spread) of `key`; values logged as strings
  ("nan", "inf") are non-finite and left out."""
  by_epoch = defaultdict(list)
  for row in rows:
    if key in row:
      by_epoch[row["epoch"]].append(float(row[key]))
  epochs = np.array(sorted(by_epoch)) if epochs is None else epochs
  stats = np.array([_mean_and_spread(by_epoch.get(e, [])) for e in epochs]).reshape(-1, 2)
  return epochs, stats[:, 0], stats[:, 1]


def layer_keys(rows: Rows, metric: str) -> list[str]:
  """The "<metric>/<layer>" keys present in the rows, in network order."""
  keys = []
  for row in rows:
    keys.extend(k for k in row if k.startswith(metric + "/") and k not in keys)
  return keys


def layer_curves(rows: Rows, metric: str, split: str = "train", seed: int | None = None,
                 stop_epochs: dict[int, float] | None = None
                 ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
  """Each layer's curve of a per-layer metric against epoch, averaged over seeds.

  Args:
    rows: rows of metrics.jsonl.
    metric: the metric name, e.g. "layer_rotation".
    split: the rows' split.
    seed: one seed only; None averages over every seed.
    stop_epochs: seed -> the epoch a stopping rule ended it at; its later rows (frozen
      values) are left out, so each epoch's mean is over the seeds still training.

  Returns:
    (epochs, {layer path: mean per epoch}, {layer path: standard deviation over seeds}),
    layers in network order.
  """
  stop_epochs = stop_epochs or {}
  rows = [row for row in rows if row["split"] == split
          and (seed is None or row["seed"] == seed)
          and row["epoch"] <= stop_epochs.get(row["seed"], np.inf)]
  keys = layer_keys(rows, metric)
  epochs = np.array(sorted({row["epoch"] for row in rows if any(k in row for k in keys)}))
  means, spreads = {}, {}
  for key in keys:
    layer = key.removeprefix(metric + "/")
    _, means[layer], spreads[layer] = _seed_stats(rows, key, epochs)
  return epochs, means, spreads


def draw_layer_curves(ax: plt.Axes, epochs: np.ndarray, curves: dict[str, np.ndarray],
                      spreads: dict[str, np.ndarray] | None = None, start_at_zero: bool = False,
                      log: bool = False, key: bool = True, **line_kwargs) -> None:
  """Draws one curve per layer against epoch, coloured by depth (viridis: layer 1 dark).

  Args:
    ax: the axes.
    epochs: the x values.
    curves: layer -> values per epoch, in network order.
    spreads: layer -> spread per epoch (e.g. the standard deviation over seeds), drawn as a
      band around the curve; None for no band.
    start_at_zero: prepend the value 0 at epoch 0 (layer rotation is 0 at initialisation).
    log: a log y-axis (values are clipped at 1e-12).
    key: name the layers "layer 1" .. "layer L": a legend for up to 12 layers, else a
      colourbar.
    **line_kwargs: passed to `ax.plot` (e.g. lw, marker).
  """
  count = len(curves)
  colours = plt.cm.viridis(np.linspace(0, 1, max(count, 1)))
  x = np.r_[0.0, epochs] if start_at_zero else np.asarray(epochs)
  if len(x) < 3:  # A line of one or two points is hard to see (or invisible): mark them.
    line_kwargs = {"marker": "o", **line_kwargs}
  for index, (colour, layer) in enumerate(zip(colours, curves, strict=False)):
    y = np.r_[0.0, curves[layer]] if start_at_zero else np.asarray(curves[layer])
    y = np.maximum(y, 1e-12) if log else y
    ax.plot(x, y, color=colour, label=f"layer {index + 1}", **line_kwargs)
    if spreads is not None and np.nanmax(spreads[layer], initial=0.0) > 0:
      spread = np.r_[0.0, spreads[layer]] if start_at_zero else spreads[layer]
      ax.fill_between(x, y - spread, y + spread, color=colour, alpha=0.2, lw=0)
  if log:
    ax.set_yscale("log")
  ax.set_xlabel("epoch")
  if key and 0 < count <= 12:
    ax.legend(fontsize=6)
  elif key and count:
    norm = plt.Normalize(1, count)
    ax.figure.colorbar(plt.cm.ScalarMappable(norm, plt.cm.viridis), ax=ax, label="layer",
                       ticks=plt.MaxNLocator(integer=True))


def add_layer_key(fig: plt.Figure, axes, count: int) -> None:
  """One key for the layers of every panel of `fig` (drawn by `draw_layer_curves` with
  key=False): a legend "layer 1" .. "layer L" right of the panels for up to 12 layers, else a
  colourbar (viridis, layer 1 dark). The figure must use the constrained layout
  (`panel_grid` figures do)."""
  if count < 1:
    return
  if count <= 12:
    handles, labels = np.ravel(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=7, title="layer colour",
               title_fontsize=7)
    return
  norm = plt.Normalize(1, count)
  fig.colorbar(plt.cm.ScalarMappable(norm, plt.cm.viridis),
               ax=[ax for ax in np.ravel(axes) if ax.get_visible()],
               label="layer (network order)", ticks=plt.MaxNLocator(integer=True),
               fraction=0.03, pad=0.02)


# What the train split's loss and accuracy are: the trainer accumulates them over the steps
# since the previous logging event, with the parameters changing, so they lag the end-of-interval
# evaluation of the other splits (e.g. train accuracy below test accuracy early in a run).
TRAIN_SPLIT_LABEL = "train (running mean over each logging interval)"


def split_label(split: str) -> str:
  """A split's legend entry: the train split says it is a running mean."""
  return TRAIN_SPLIT_LABEL if split == "train" else f"{split} (evaluated at each logging event)"


def seeds_note(rows: Rows) -> str:
  """"seed 0" for one seed, else "mean of 3 seeds (0, 1, 2); band: ± 1 s.d. over seeds"."""
  seeds = sorted({row["seed"] for row in rows if "seed" in row})
  if len(seeds) <= 1:
    return f"seed {seeds[0]}" if seeds else ""
  return (f"mean of {len(seeds)} seeds ({', '.join(map(str, seeds))}); "
          "band: ± 1 s.d. over seeds")


def plot_learning_curves(rows: Rows, path: str) -> None:
  """Loss and accuracy against epoch for every split: the seed mean, with a band of ± one
  standard deviation over seeds when there are several; the legend says that the train split
  is a running mean over each logging interval."""
  fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
  for index, split in enumerate(sorted({row["split"] for row in rows})):
    split_rows = [row for row in rows if row["split"] == split]
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
      epochs, values, spread = _seed_stats(split_rows, key)
      ax.plot(epochs, values, marker=".", color=f"C{index}", label=split_label(split))
      if np.nanmax(spread, initial=0.0) > 0:
        ax.fill_between(epochs, values - spread, values + spread, color=f"C{index}", alpha=0.2,
                        lw=0)
  for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.grid(alpha=0.3)
  axes[0].set_yscale("log")
  axes[1].legend(fontsize=7)
  fig.suptitle(seeds_note(rows), fontsize=9)
  save_figure(fig, path, dpi=100)


def plot_per_layer(rows: Rows, metric: str, path: str, ylabel: str,
                   start_at_zero: bool = False, ylim: tuple[float, float] | None = None,
                   log: bool = False) -> None:
  """The figure of one per-layer metric of a run: each layer's seed mean (and a band of ± one
  standard deviation over seeds) against epoch; the title says how many seeds.

  Args:
    rows: rows of metrics.jsonl.
    metric: the metric name, e.g. "layer_rotation".
    path: where to write the PNG.
    ylabel: the y-axis label.
    start_at_zero: prepend the value 0 at epoch 0 (layer rotation is 0 at initialisation).
    ylim: fixed y-axis limits.
    log: a log y-axis.
  """
  epochs, means, spreads = layer_curves(rows, metric)
  fig, ax = plt.subplots(figsize=(6, 4))
  draw_layer_curves(ax, epochs, means, spreads, start_at_zero=start_at_zero, log=log)
  ax.set_ylabel(ylabel)
  split_rows = [row for row in rows if row["split"] == "train"]
  ax.set_title(f"{metric}: {seeds_note(split_rows)}", fontsize=8)
  if ylim:
    ax.set_ylim(*ylim)
  save_figure(fig, path, dpi=100)


# The per-layer metrics that get a figure: y-axis label and plot_per_layer options.
PER_LAYER_FIGURES = {
    "layer_rotation": ("cosine distance to initialisation",
                       {"start_at_zero": True, "ylim": (0, 1.05)}),
    "projection_mass": ("fraction of filters with projection <= 0", {"ylim": (-0.03, 1.03)}),
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
