"""Symmetry breaking across runs (Blumenfeld et al.): weight correlations and Diversity.

  python -m jaxgen.analysis.diversity /tmp/div/mnist_cpu      # a sweep root or run workdirs

For every run (e.g. the deterministic / dropout / noise / VarNet conditions of
`configs/diversity/`), prints the final train and test accuracy, the mean forward and backward
correlation over the layers at the first and last logged epoch, and the "Diversity"
Σ_layers log sqrt(1 - backward²) at the last epoch (-inf while some layer is exactly
symmetric); draws one panel per run with each layer's backward correlation against epoch
(viridis, first layer dark) into figures/correlations.png. Uses seed `--seed` of each run.
"""

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from jaxgen import plots, run_log  # noqa: E402
from jaxgen.metrics.diversity import diversity_score  # noqa: E402

Rows = list[dict]


def _train_rows(workdir: str, seed: int | None) -> Rows:
  rows = [r for r in run_log.read_metrics(workdir) if r["split"] == "train"]
  seed = min(r["seed"] for r in rows) if seed is None else seed
  return [r for r in rows if r["seed"] == seed]


def correlation_summary(rows: Rows) -> dict[str, float]:
  """First/last-epoch mean forward and backward correlation, last-epoch Diversity, accuracy.

  Args:
    rows: one seed's train rows of a run that logged "forward_correlation" and
      "backward_correlation".
  """
  summary = {"train_accuracy": rows[-1]["accuracy"]}
  for kind in ("forward", "backward"):
    keys = plots.layer_keys(rows, f"{kind}_correlation")
    for label, row in (("first", rows[0]), ("last", rows[-1])):
      # Undefined layers (one unit) are logged as "nan" and left out of the mean.
      summary[f"{kind}_{label}"] = float(np.nanmean([float(row[k]) for k in keys]))
  backward = plots.layer_keys(rows, "backward_correlation")
  last = {k: jnp.asarray(float(rows[-1][k])) for k in backward}
  summary["diversity"] = float(diversity_score(last))
  return summary


def plot_backward_correlations(workdirs: Sequence[str], path: str, seed: int | None = None,
                               columns: int = 4) -> None:
  """One panel per run: each layer's backward correlation against epoch."""
  fig, axes = plots.panel_grid(len(workdirs), columns, (3.8, 3.0), sharey=True)
  for ax, workdir in zip(axes.flat, workdirs, strict=False):
    rows = _train_rows(workdir, seed)
    keys = plots.layer_keys(rows, "backward_correlation")
    for colour, key in zip(plt.cm.viridis(np.linspace(0, 1, max(len(keys), 1))), keys,
                           strict=False):
      ax.plot([r["epoch"] for r in rows], [float(r[key]) for r in rows], color=colour, lw=1)
    ax.set_title(os.path.basename(os.path.normpath(workdir)), fontsize=7)
    ax.set_ylim(-0.1, 1.05)
    ax.set_xlabel("epoch")
  for ax in axes[:, 0]:
    ax.set_ylabel("backward correlation")
  plots.save_figure(fig, path)


def main(argv: list[str]) -> None:
  if len(argv) < 2:
    raise app.UsageError(f"usage: {argv[0]} PATH... [--out=PNG] [--seed=S]")
  workdirs = run_log.run_dirs(argv[1:])
  seed = flags.FLAGS.seed
  print("run  train  test  forward first->last  backward first->last  diversity")
  for workdir in workdirs:
    rows = _train_rows(workdir, seed)
    tests = [r for r in run_log.read_metrics(workdir)
             if r["split"] == "test" and r["seed"] == rows[0]["seed"]]
    s = correlation_summary(rows)
    print(f"{os.path.basename(os.path.normpath(workdir))}\n     {s['train_accuracy']:.4f} "
          f"{tests[-1]['accuracy']:.4f}  {s['forward_first']:.3f} -> {s['forward_last']:.3f}"
          f"  {s['backward_first']:.3f} -> {s['backward_last']:.3f}  {s['diversity']:.2f}")
  out = flags.FLAGS.out or os.path.join(argv[1], "figures", "correlations.png")
  plot_backward_correlations(workdirs, out, seed)
  print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_string("out", None, "PNG to write (default: <first path>/figures/"
                      "correlations.png).")
  flags.DEFINE_integer("seed", None, "Which seed of each run (default: its first).")
  app.run(main)
