"""Figures of the layer-rotation study (Carbonnelle & De Vleeschouwer) from finished workdirs.

  python -m jaxgen.analysis.layer_rotation features PATH... [--out=DIR] [--units=5,6,7,8,9]
  python -m jaxgen.analysis.layer_rotation sweep PATH... [--test_at=best_validation]
  python -m jaxgen.analysis.layer_rotation curves PATH... [--out=DIR]

- features: the §6 picture. Hidden units 5-9 of each run's first Dense kernel (column j is
  unit j) reshaped to 28x28, one row per run, highest learning rate first.
- sweep: Fig. 2. Test accuracy against α (runs at ρ(0) = 3⁻³ whose final train accuracy
  exceeds 0.9) and against ρ(0) (runs at α = 0, no filter), from a `launch.local` sweep
  directory; also prints the table.
- curves: Fig. 1 style comparison, one panel of layer-rotation curves per run (the per-run
  figure of `jaxgen.plots` side by side).

A PATH is a run (it holds config.json) or a sweep directory (its sub-directories are the
runs); the figure goes to DIR (default: the first PATH's figures/). Everything is read from
config.json, summary.json, metrics.jsonl and the checkpoints.
"""

import dataclasses
import math
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags, logging  # noqa: E402

from jaxgen import path_rules, plots  # noqa: E402
from jaxgen.analysis import cli  # noqa: E402
from jaxgen.analysis.runs import Run, load_runs  # noqa: E402

FIRST_LAYER_UNITS = (5, 6, 7, 8, 9)
RHO_BEST = 3.0**-3  # The ρ(0) of the α grid.
ALPHA_TRAIN_THRESHOLD = 0.9  # Fig. 2 keeps α runs whose final train accuracy exceeds this.
TEST_AT = ("final", "best_validation")


@dataclasses.dataclass(frozen=True)
class SeedResult:
  """One seed of one finished run: its settings and accuracies."""

  workdir: str
  seed: int
  alpha: float
  learning_rate: float
  train_accuracy: float
  test_accuracy: float


def power_of_three_label(value: float) -> str:
  """"3^-2.5" for a power of 3 (to 0.01 in the exponent), else the value itself."""
  exponent = math.log(value, 3) if value > 0 else math.nan
  if math.isfinite(exponent) and abs(exponent * 10 - round(exponent * 10)) < 0.1:
    return f"3^{round(exponent, 1):g}"
  return f"{value:g}"


# --- First-layer features (§6) ------------------------------------------------------------


def first_layer_features(params: dict, units: Sequence[int] = FIRST_LAYER_UNITS,
                         image_shape: tuple[int, int] = (28, 28),
                         layer_rule: str = path_rules.KERNEL_RULE) -> np.ndarray:
  """Hidden units of the first layer kernel as images.

  Args:
    params: one seed's parameters.
    units: hidden-unit indices (kernel columns).
    image_shape: the input image shape the kernel's rows flatten.
    layer_rule: regex selecting layer kernels; the first in network order is used.

  Returns:
    Array (len(units), *image_shape).
  """
  kernel = np.asarray(path_rules.flatten(params)[path_rules.layer_paths(params, layer_rule)[0]])
  if kernel.ndim != 2 or kernel.shape[0] != math.prod(image_shape):
    raise ValueError(f"the first layer kernel has shape {kernel.shape}; expected a Dense "
                     f"kernel with {math.prod(image_shape)} input rows")
  return np.stack([kernel[:, unit].reshape(image_shape) for unit in units])


def plot_first_layer_features(runs: Sequence[Run], path: str,
                              units: Sequence[int] = FIRST_LAYER_UNITS, seed_index: int = 0,
                              include_init: bool = True) -> list[str]:
  """One row of first-layer features per run (highest learning rate first), saved as PNG.

  Each row is labelled with the run's learning rate, the first layer's final rotation and the
  final test accuracy. Each image has its own grey scale (min to max), as matplotlib draws it.

  Args:
    runs: finished runs of a model whose first layer is Dense on 28x28 inputs.
    path: the PNG to write.
    units: the hidden units to show (the paper: 5-9).
    seed_index: which seed of each run.
    include_init: add a last row with the initialisation (step 0) of the first run.

  Returns:
    The row labels, top to bottom.
  """
  runs = sorted(runs, key=lambda run: -run.config.optim.learning_rate)
  rows, labels = [], []
  for run in runs:
    params = run.load_params(seed_index=seed_index)["params"]
    final = run.final_rows().get(run.seeds[seed_index], {})
    layer_rule = run.config.metrics.layer_rule
    first = path_rules.layer_paths(params, layer_rule)[0]
    rotation = final.get("train", {}).get(f"layer_rotation/{first}", math.nan)
    accuracy = final.get("test", {}).get("accuracy", math.nan)
    rows.append(first_layer_features(params, units, layer_rule=layer_rule))
    labels.append(f"lr {power_of_three_label(run.config.optim.learning_rate)}\n"
                  f"rotation {rotation:.2f}\ntest {100 * accuracy:.1f}%")
  if include_init:
    rows.append(first_layer_features(runs[0].load_params(0, seed_index)["params"], units))
    labels.append("initialisation")

  fig, axes = plt.subplots(len(rows), len(units), figsize=(1.6 * len(units) + 1.4,
                                                           1.6 * len(rows)), squeeze=False)
  for r, (images, label) in enumerate(zip(rows, labels, strict=True)):
    for c, image in enumerate(images):
      axes[r, c].imshow(image, cmap="gray")
      axes[r, c].set_xticks([])
      axes[r, c].set_yticks([])
      if r == 0:
        axes[r, c].set_title(f"unit {units[c]}", fontsize=9)
    axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
  plots.save_figure(fig, path)
  return labels


# --- Accuracy against α and ρ(0) (Fig. 2) -----------------------------------------------------


def seed_results(run: Run, test_at: str = "final") -> list[SeedResult]:
  """The accuracies of each seed of a finished run.

  Args:
    run: a run with summary.json (unfinished runs give []).
    test_at: "final", the test accuracy at the end of training; or "best_validation", the
      test accuracy at the logging event with the highest validation accuracy (the first one
      on ties), i.e. Keras early stopping with the best checkpoint reloaded.

  Returns:
    One SeedResult per seed; the train accuracy is always the final one.
  """
  if test_at not in TEST_AT:
    raise ValueError(f"test_at={test_at!r} is not one of {TEST_AT}")
  results = []
  for seed, splits in sorted(run.final_rows().items()):
    test = splits["test"]["accuracy"]
    if test_at == "best_validation":
      validation = run.rows_for("validation", seed)
      if not validation:
        raise ValueError(f"{run.workdir} has no validation rows for test_at='best_validation'")
      best = max(validation, key=lambda r: r["accuracy"])
      test = next(r["accuracy"] for r in run.rows_for("test", seed) if r["step"] == best["step"])
    results.append(SeedResult(run.workdir, seed, float(run.config.optim.alpha),
                              float(run.config.optim.learning_rate),
                              splits["train"]["accuracy"], test))
  return results


def collect_sweep(paths: str | Sequence[str], test_at: str = "final") -> list[SeedResult]:
  """The SeedResults of every finished run under `paths` (unfinished ones are skipped)."""
  results = []
  for run in load_runs(paths):
    if run.summary is None:
      logging.warning("Skipping %s: not finished (no summary.json).", run.workdir)
      continue
    results.extend(seed_results(run, test_at))
  return results


def sweep_series(results: Sequence[SeedResult], rho: float = RHO_BEST,
                 alpha_train_threshold: float = ALPHA_TRAIN_THRESHOLD,
                 rho_train_threshold: float = 0.0) -> dict[str, list[tuple[float, float]]]:
  """The points of Fig. 2: (α, test accuracy) and (ρ(0), test accuracy), sorted by x.

  Args:
    results: seeds of the sweep's runs.
    rho: the ρ(0) of the α grid.
    alpha_train_threshold: α points need a final train accuracy above this.
    rho_train_threshold: ρ(0) points need a final train accuracy above this.

  Returns:
    {"alpha": [(α, accuracy), ...], "rho": [(ρ(0), accuracy), ...]}, one point per seed.
  """
  alpha = [(r.alpha, r.test_accuracy) for r in results
           if math.isclose(r.learning_rate, rho, rel_tol=1e-6)
           and r.train_accuracy > alpha_train_threshold]
  rhos = [(r.learning_rate, r.test_accuracy) for r in results
          if r.alpha == 0.0 and r.train_accuracy > rho_train_threshold]
  return {"alpha": sorted(alpha), "rho": sorted(rhos)}


def plot_sweep(results: Sequence[SeedResult], path: str, **series_kwargs) -> None:
  """Test accuracy against α and against ρ(0) (two panels; seed points and their mean).

  Args:
    results: seeds of the sweep's runs.
    path: the PNG to write.
    **series_kwargs: passed to `sweep_series` (thresholds, ρ of the α grid).
  """
  series = sweep_series(results, **series_kwargs)
  fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
  for ax, (key, xlabel) in zip(axes, (("alpha", "α (at ρ(0) = 3^-3)"),
                                      ("rho", "ρ(0) (at α = 0)")), strict=True):
    points = series[key]
    if points:
      xs, ys = np.asarray(points).T
      ax.plot(xs, 100 * ys, "o", alpha=0.4, color="C0", label="one seed")
      means = sorted({x: np.mean(ys[xs == x]) for x in xs}.items())
      ax.plot([m[0] for m in means], [100 * m[1] for m in means], "-", color="C0",
              label="mean over seeds")
      ax.legend(fontsize=8)
    else:
      ax.text(0.5, 0.5, "no run of this series in the sweep", ha="center",
              transform=ax.transAxes, color="grey")
    if key == "rho":
      ax.set_xscale("log", base=3)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
  axes[0].set_ylabel("test accuracy (%)")
  axes[0].set_title("runs with final train accuracy > "
                    f"{series_kwargs.get('alpha_train_threshold', ALPHA_TRAIN_THRESHOLD)}",
                    fontsize=9)
  plots.save_figure(fig, path)


def format_sweep_table(results: Sequence[SeedResult]) -> str:
  """One line per seed: α, ρ(0) (as a power of 3), seed, final train and test accuracy."""
  lines = ["alpha  rho0      seed  train   test"]
  for r in sorted(results, key=lambda r: (r.alpha, -r.learning_rate, r.seed)):
    lines.append(f"{r.alpha:5.2f}  {power_of_three_label(r.learning_rate):8s}  {r.seed:4d}  "
                 f"{r.train_accuracy:.4f}  {r.test_accuracy:.4f}")
  return "\n".join(lines)


# --- Rotation curves of several runs side by side (Fig. 1 style) --------------------------


def plot_rotation_panels(runs: Sequence[Run], path: str, columns: int = 4) -> None:
  """One panel per run: each layer's rotation against epoch, of the run's first seed (named in
  the panel's title with its final test accuracy); one layer colour key for all panels.

  Args:
    runs: runs that logged the "layer_rotation" metric.
    path: the PNG to write.
    columns: panels per row.
  """
  fig, axes = plots.panel_grid(len(runs), columns, (3.6, 2.8), sharey=True)
  layers = 0
  for ax, run in zip(axes.flat, runs, strict=False):
    seed = min(run.seeds)
    epochs, curves, _ = plots.layer_curves(run.rows, "layer_rotation", seed=seed)
    plots.draw_layer_curves(ax, epochs, curves, start_at_zero=True, key=False, lw=1)
    layers = max(layers, len(curves))
    tests = [s.test_accuracy for s in seed_results(run) if s.seed == seed]
    # Sweep run names hold floats like 0.037037037037037035: show them as 3^-3.
    title = re.sub(r"\d+\.\d{6,}", lambda m: power_of_three_label(float(m.group())), run.name)
    title = title.replace(",", ",\n") + f"\nseed {seed}"
    ax.set_title(title + (f", test {100 * tests[0]:.1f}%" if tests else ""), fontsize=8)
    ax.set_ylim(0, 1.05)
  for ax in axes[:, 0]:
    ax.set_ylabel("cosine distance to init")
  plots.add_layer_key(fig, axes, layers)
  plots.save_figure(fig, path)


# --- Command line -------------------------------------------------------------------------


COMMANDS = {"features": "first_layer_features.png", "sweep": "accuracy_vs_alpha_rho.png",
            "curves": "rotation_curves.png"}


def main(args: cli.Invocation) -> None:
  """Draws the figure of `args.command` into --out (and prints its table or labels)."""
  out = args.output(COMMANDS[args.command])
  if args.command == "features":
    labels = plot_first_layer_features(load_runs(args.paths), out,
                                       [int(u) for u in flags.FLAGS.units],
                                       flags.FLAGS.seed_index)
    print("\n".join(label.replace("\n", ", ") for label in labels))
  elif args.command == "sweep":
    results = collect_sweep(args.paths, flags.FLAGS.test_at)
    print(format_sweep_table(results))
    plot_sweep(results, out)
  else:
    plot_rotation_panels(load_runs(args.paths), out)
  print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_list("units", [str(u) for u in FIRST_LAYER_UNITS], "features: hidden units.")
  flags.DEFINE_integer("seed_index", 0, "features: which seed of each run.")
  flags.DEFINE_enum("test_at", "final", TEST_AT, "sweep: final or best-validation test accuracy.")
  cli.run(main, list(COMMANDS))
