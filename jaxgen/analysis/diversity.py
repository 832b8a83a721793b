"""Symmetry breaking across runs (Blumenfeld et al.): weight correlations and Diversity.

  python -m jaxgen.analysis.diversity /tmp/div/mnist_cpu [--out=DIR] [--seed=S]   # PATH...

For every run (e.g. the deterministic / dropout / noise / VarNet conditions of
`configs/diversity/`), prints the final train and test accuracy, the mean forward and backward
correlation over the hidden layers at the first and last logged epoch, and the "Diversity"
Σ_layers log sqrt(1 - backward²) at the last epoch; draws one panel per run with each layer's
backward correlation against epoch (viridis, first layer dark) into DIR/correlations.png
(default: the first PATH's figures/). Uses seed `--seed` of each run (default: its first).

The output layer (the last layer in network order, the classifier) is left out of the mean
correlations: its rows are the classes' weight vectors, which differ from class to class
whatever the symmetry of the features, so averaging it in would make an exactly symmetric
network read below 1. The Diversity sums every layer, as the original does; it is -inf when
some layer's backward correlation is exactly 1 (all its input channels identical: the
symmetric ConstNet), and the table then says how many layers are.
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


def hidden_layer_keys(rows: Rows, metric: str) -> list[str]:
  """The "<metric>/<layer>" keys of every layer but the output layer (the last one)."""
  return plots.layer_keys(rows, metric)[:-1]


def correlation_summary(rows: Rows) -> dict[str, float]:
  """First/last-epoch mean forward and backward correlation of the hidden layers, last-epoch
  Diversity over every layer, how many layers are exactly symmetric, and accuracy.

  Args:
    rows: one seed's train rows of a run that logged "forward_correlation" and
      "backward_correlation".

  Returns:
    {"train_accuracy", "forward_first", "forward_last", "backward_first", "backward_last",
    "diversity", "symmetric_layers"}: the correlations are means over the hidden layers (the
    output layer left out, see the module docstring); "symmetric_layers" counts the layers
    whose last backward correlation is exactly 1 (each makes the Diversity -inf).
  """
  summary = {"train_accuracy": rows[-1]["accuracy"]}
  for kind in ("forward", "backward"):
    keys = hidden_layer_keys(rows, f"{kind}_correlation")
    for label, row in (("first", rows[0]), ("last", rows[-1])):
      # Undefined layers (one unit) are logged as "nan" and left out of the mean.
      summary[f"{kind}_{label}"] = float(np.nanmean([float(row[k]) for k in keys]))
  backward = plots.layer_keys(rows, "backward_correlation")
  last = {k: jnp.asarray(float(rows[-1][k])) for k in backward}
  summary["diversity"] = float(diversity_score(last))
  summary["symmetric_layers"] = sum(float(rows[-1][k]) == 1.0 for k in backward)
  return summary


def _seed(run: Run, seed: int | None) -> int:
  return min(run.seeds) if seed is None else seed


def summary_table(runs: Sequence[Run], seed: int | None = None) -> str:
  """The printed table: per run, its final train/test accuracy, the hidden layers' mean
  forward and backward correlation (first -> last logged epoch) and the Diversity.

  Args:
    runs: runs that logged the forward and backward correlations.
    seed: which seed of each run (default: its first).
  """
  lines = ["run\n     train   test    forward first->last  backward first->last  diversity",
           "     (correlations: mean over the hidden layers, output layer left out)"]
  for run in runs:
    seed_of_run = _seed(run, seed)
    s = correlation_summary(run.train_rows(seed_of_run))
    diversity = f"{s['diversity']:.2f}"
    if s["symmetric_layers"]:
      diversity += (f" ({s['symmetric_layers']} layers with backward correlation exactly 1: "
                    "identical channels)")
    lines.append(f"{run.name} (seed {seed_of_run})\n     {s['train_accuracy']:.4f}  "
                 f"{run.last_rows(seed_of_run)['test']['accuracy']:.4f}  "
                 f"{s['forward_first']:.3f} -> {s['forward_last']:.3f}         "
                 f"{s['backward_first']:.3f} -> {s['backward_last']:.3f}        {diversity}")
  return "\n".join(lines)


def panel_title(name: str) -> str:
  """A sweep run's name ("model.name=constnet,model.droprate=0.01,...") one setting a line."""
  return name.replace(",", "\n")


def plot_backward_correlations(runs: Sequence[Run], path: str, seed: int | None = None,
                               columns: int = 4) -> None:
  """One panel per run: each layer's backward correlation against epoch, one layer colour
  key for all panels.

  Args:
    runs: runs that logged "backward_correlation".
    path: the PNG to write.
    seed: which seed of each run (default: its first).
    columns: panels per row.
  """
  fig, axes = plots.panel_grid(len(runs), columns, (3.4, 3.4), sharey=True)
  layers = 0
  for ax, run in zip(axes.flat, runs, strict=False):
    seed_of_run = _seed(run, seed)
    epochs, curves, _ = plots.layer_curves(run.rows, "backward_correlation", seed=seed_of_run)
    plots.draw_layer_curves(ax, epochs, curves, key=False, lw=1)
    layers = max(layers, len(curves))
    ax.set_title(f"{panel_title(run.name)}\nseed {seed_of_run}", fontsize=7)
    ax.set_ylim(-0.1, 1.05)
  for ax in axes[:, 0]:
    ax.set_ylabel("backward correlation")
  plots.add_layer_key(fig, axes, layers)
  plots.save_figure(fig, path)


def main(args: cli.Invocation) -> None:
  """Prints each run's summary and draws the panels into --out/correlations.png."""
  runs = load_runs(args.paths)
  print(summary_table(runs, flags.FLAGS.seed))
  out = args.output("correlations.png")
  plot_backward_correlations(runs, out, flags.FLAGS.seed)
  print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_integer("seed", None, "Which seed of each run (default: its first).")
  cli.run(main)
