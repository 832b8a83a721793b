"""Symmetry breaking across runs (Blumenfeld et al.): weight correlations and Diversity.

  python -m jaxgen.analysis.diversity /tmp/div/mnist_cpu [--out=DIR] [--seed=S]   # PATH...

For every run (e.g. the deterministic / dropout / noise / VarNet conditions of
`configs/diversity/`), prints the final train and test accuracy, the mean forward and backward
correlation over the layers at the first and last logged epoch, and the "Diversity"
Σ_layers log sqrt(1 - backward²) at the last epoch (-inf while some layer is exactly
symmetric); draws one panel per run with each layer's backward correlation against epoch
(viridis, first layer dark) into DIR/correlations.png (default: the first PATH's figures/).
Uses seed `--seed` of each run (default: its first).
"""

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np
from absl import flags

from jaxgen import plots
from jaxgen.analysis import cli
from jaxgen.analysis.runs import Run, load_runs
from jaxgen.metrics.diversity import diversity_score

Rows = list[dict]


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


def _seed(run: Run, seed: int | None) -> int:
  return min(run.seeds) if seed is None else seed


def plot_backward_correlations(runs: Sequence[Run], path: str, seed: int | None = None,
                               columns: int = 4) -> None:
  """One panel per run: each layer's backward correlation against epoch.

  Args:
    runs: runs that logged "backward_correlation".
    path: the PNG to write.
    seed: which seed of each run (default: its first).
    columns: panels per row.
  """
  fig, axes = plots.panel_grid(len(runs), columns, (3.8, 3.0), sharey=True)
  for ax, run in zip(axes.flat, runs, strict=False):
    epochs, curves, _ = plots.layer_curves(run.rows, "backward_correlation",
                                           seed=_seed(run, seed))
    plots.draw_layer_curves(ax, epochs, curves, lw=1)
    ax.set_title(run.name, fontsize=7)
    ax.set_ylim(-0.1, 1.05)
  for ax in axes[:, 0]:
    ax.set_ylabel("backward correlation")
  plots.save_figure(fig, path)


def main(args: cli.Invocation) -> None:
  """Prints each run's summary and draws the panels into --out/correlations.png."""
  runs = load_runs(args.paths)
  print("run  train  test  forward first->last  backward first->last  diversity")
  for run in runs:
    seed = _seed(run, flags.FLAGS.seed)
    s = correlation_summary(run.train_rows(seed))
    print(f"{run.name}\n     {s['train_accuracy']:.4f} "
          f"{run.last_rows(seed)['test']['accuracy']:.4f}  {s['forward_first']:.3f} -> "
          f"{s['forward_last']:.3f}  {s['backward_first']:.3f} -> {s['backward_last']:.3f}  "
          f"{s['diversity']:.2f}")
  out = args.output("correlations.png")
  plot_backward_correlations(runs, out, flags.FLAGS.seed)
  print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_integer("seed", None, "Which seed of each run (default: its first).")
  cli.run(main)
