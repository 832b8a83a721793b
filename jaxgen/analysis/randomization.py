"""Figure 1 of Zhang et al. (2017) from finished randomization-test runs.

  python -m jaxgen.analysis.randomization PATH... [--out=DIR]      # or --sweep_dir=PATH

A PATH is a sweep directory (`launch.local` writes one run per sweep setting) or a run. For
each run and seed, table.txt gives the model, corruption, label-corruption level p, whether
and when the seed fitted the training set (its stop record in summary.json: step, epoch, wall
time) and its train/test accuracy at that point. Seeds that did not fit keep their row, with
the values of their last logged step, and are drawn as hollow markers at that step: a lower
bound on the time to fit. The figures (in DIR; default: the first PATH's figures/):
  (a) fig1a_loss.png: average training loss against steps, one curve per setting;
  (b) fig1b_steps_to_fit.png: steps to fit against p, one line per model;
  (c) fig1c_test_error.png: test error at the fitting point against p, one line per model.
"""

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from jaxgen import plots  # noqa: E402
from jaxgen.analysis import cli  # noqa: E402
from jaxgen.analysis.runs import Run, load_runs  # noqa: E402

# Display order and names of the corruption kinds (Figure 1a's legend order).
KIND_ORDER = ("none", "partial_labels", "random_labels", "shuffled_pixels", "random_pixels",
              "gaussian", "class_subset")
# Legend name and colour of each setting other than partial_labels (p=<level>, plasma).
SETTINGS = {"none": ("true labels", "C0"), "random_labels": ("random labels", "C3"),
            "shuffled_pixels": ("shuffled pixels", "C1"), "random_pixels": ("random pixels", "C2"),
            "gaussian": ("gaussian", "C4"), "class_subset": ("class subset", "C5")}
FIGURES = ("fig1a_loss.png", "fig1b_steps_to_fit.png", "fig1c_test_error.png")


@dataclasses.dataclass(frozen=True)
class SeedResult:
  """Where one seed of one run stands: fitted (when, test accuracy then) or not.

  `status` is "fitted", "not fitted" (a fitting target was set and never reached),
  "finished" (no fitting target: a fixed budget), "unfinished" (no summary.json yet),
  "diverged" (the loss became NaN/inf), or "stopped: <reason>" for another stopping rule.
  `step`, `epoch`, `wall_time` and the accuracies are those at the fitting point, or at the
  seed's last logged step otherwise.
  """

  run: str
  model: str
  corruption: str
  p: float | None  # Label-corruption level; None for image corruptions.
  seed: int
  status: str
  step: int
  epoch: float
  wall_time: float
  train_accuracy: float
  test_accuracy: float

  @property
  def fitted(self) -> bool:
    return self.status == "fitted"


def model_label(config: dict[str, Any]) -> str:
  """The model name, with the builder arguments the config sets, e.g. "mlp_1x512(width=64)"."""
  model = dict(config["model"])
  name = model.pop("name")
  args = ",".join(f"{key}={value}" for key, value in sorted(model.items()))
  return f"{name}({args})" if args else name


def corruption_level(config: dict[str, Any]) -> float | None:
  """The label-corruption level p: 0 for true labels, 1 for random labels, None otherwise."""
  corruption = config["data"]["corruption"]
  if corruption["kind"] == "partial_labels":
    return float(corruption["level"])
  return {"none": 0.0, "random_labels": 1.0}.get(corruption["kind"])


def setting_label(config: dict[str, Any]) -> str:
  """How a run's data setting is named in legends: "true labels", "p=0.3", "gaussian"..."""
  kind = config["data"]["corruption"]["kind"]
  if kind == "partial_labels":
    return f"p={config['data']['corruption']['level']:g}"
  return SETTINGS.get(kind, (kind,))[0]


def _seed_result(run: Run, seed: int) -> SeedResult:
  config = run.config
  common = {"run": run.name, "model": model_label(config),
            "corruption": config["data"]["corruption"]["kind"],
            "p": corruption_level(config), "seed": seed}
  stop = run.stop_records.get(str(seed))
  if stop is not None:
    reason = stop["reason"].split(":")[0]
    status = "fitted" if reason == "fitted" else f"stopped: {reason}"
    return SeedResult(**common, status=status, step=stop["step"], epoch=stop["epoch"],
                      wall_time=stop["wall_time"],
                      train_accuracy=stop["metrics"].get("train_accuracy", np.nan),
                      test_accuracy=stop["metrics"].get("test_accuracy", np.nan))
  if run.summary is None:
    status = "unfinished"
  elif "diverged" in run.summary:
    status = "diverged"
  else:
    target = config["train"]["stop"]["target_train_accuracy"] or config["train"]["stop"][
        "target_train_loss"]
    status = "not fitted" if target else "finished"
  last = run.last_rows(seed)
  train = last.get("train", {})
  return SeedResult(**common, status=status, step=train.get("step", 0),
                    epoch=train.get("epoch", 0.0), wall_time=train.get("wall_time", np.nan),
                    train_accuracy=train.get("accuracy", np.nan),
                    test_accuracy=last.get("test", {}).get("accuracy", np.nan))


def _kind_rank(kind: str) -> int:
  return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def _sort_key(r: SeedResult) -> tuple:
  return r.model, _kind_rank(r.corruption), -1.0 if r.p is None else r.p, r.run, r.seed


def seed_results(runs: Sequence[Run]) -> list[SeedResult]:
  """One SeedResult per (run, seed), sorted by model, corruption kind, p, run and seed."""
  results = [_seed_result(run, seed) for run in runs for seed in run.seeds]
  return sorted(results, key=_sort_key)


def format_table(results: Sequence[SeedResult]) -> str:
  """A fixed-width text table with one line per seed (accuracies in %).

  Args:
    results: from `seed_results`.

  Returns:
    The table, header first, lines joined by newlines.
  """
  header = ("model", "corruption", "p", "seed", "status", "step", "epoch", "train%", "test%",
            "wall_s", "run")
  return cli.text_table(header, [
      (r.model, r.corruption, "-" if r.p is None else f"{r.p:g}", str(r.seed), r.status,
       str(r.step), f"{r.epoch:g}", f"{100 * r.train_accuracy:.2f}",
       f"{100 * r.test_accuracy:.2f}", f"{r.wall_time:.1f}", r.run) for r in results])


def _mean_loss_curve(rows: list[dict[str, Any]],
                     seeds: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
  """(steps, mean train loss over seeds); a stopped seed keeps its last value (its
  parameters no longer change), so the mean does not jump when a seed stops."""
  by_seed = [{r["step"]: r["loss"] for r in rows if r["seed"] == seed and r["split"] == "train"}
             for seed in seeds]
  by_seed = [losses for losses in by_seed if losses]
  if not by_seed:
    return np.zeros(0), np.zeros(0)
  steps = np.array(sorted(set().union(*by_seed)))
  curves = []
  for losses in by_seed:
    known = np.array(sorted(losses))
    values = np.array([losses[s] for s in known], dtype=float)
    # Index of the last logged step <= each step; before the first log the curve is unknown.
    index = np.searchsorted(known, steps, side="right") - 1
    curves.append(np.where(index >= 0, values[np.maximum(index, 0)], np.nan))
  return steps, np.nanmean(np.stack(curves), axis=0)


# Line styles of the five Fig. 1a settings: curves that fit at the same step lie on top of each
# other, so each gets its own dash pattern as well as its colour.
_LINESTYLES = {"none": "-", "random_labels": "-", "shuffled_pixels": (0, (5, 2)),
               "random_pixels": (0, (2, 1.5)), "gaussian": (0, (6, 2, 1, 2)),
               "class_subset": (0, (1, 1))}


def _curve_style(config: dict[str, Any]) -> dict[str, Any]:
  kind = config["data"]["corruption"]["kind"]
  if kind == "partial_labels":
    level = config["data"]["corruption"]["level"]
    return {"color": plt.cm.plasma(0.85 * level), "linewidth": 1.0, "alpha": 0.8, "zorder": 1}
  # True labels (solid) drawn wider and beneath, so that a dashed curve on top of it (shuffled
  # pixels fit at the same steps on MLPs) leaves it visible.
  wide = kind == "none"
  return {"color": SETTINGS.get(kind, (kind, "k"))[1], "linewidth": 3.2 if wide else 1.8,
          "zorder": 1.5 if wide else 2, "linestyle": _LINESTYLES.get(kind, "-")}


def _run_order(run: Run) -> tuple:
  kind = run.config["data"]["corruption"]["kind"]
  return _kind_rank(kind), corruption_level(run.config) or 0.0, run.name


def plot_loss_curves(runs: Sequence[Run], results: Sequence[SeedResult], path: str) -> None:
  """Figure 1a: mean training loss over seeds against steps, one panel per model, one curve
  per run, on a log scale (every curve ends near 0, where a linear axis lets them cover each
  other); the five settings of the paper's Fig. 1a drawn on top of the p = 0.1 .. 0.9 curves.

  Args:
    runs: from `load_runs`.
    results: from `seed_results`; fitted seeds are marked with a dot where they fitted.
    path: where to write the PNG.
  """
  models = sorted({model_label(run.config) for run in runs})
  fig, axes = plots.panel_grid(max(len(models), 1), max(len(models), 1), (6, 4.5))
  max_step = max((row["step"] for run in runs for row in run.rows), default=0)
  scale, unit = (1000.0, "thousand steps") if max_step >= 5000 else (1.0, "steps")
  fits = {(r.run, r.seed): r.step for r in results if r.fitted}
  for ax, model in zip(axes[0], models, strict=False):
    for run in sorted((r for r in runs if model_label(r.config) == model), key=_run_order):
      steps, loss = _mean_loss_curve(run.rows, run.config["seeds"])
      style = _curve_style(run.config)
      ax.plot(steps / scale, loss, label=setting_label(run.config), **style)
      fitted_steps = [fits[(run.name, s)] for s in run.config["seeds"] if (run.name, s) in fits]
      marks = [loss[np.searchsorted(steps, s)] for s in fitted_steps]
      ax.plot(np.asarray(fitted_steps) / scale, marks, "o", color=style["color"], markersize=4,
              zorder=3)
    ax.set_title(model)
    ax.set_xlabel(unit)
    ax.set_ylabel("training loss (running mean per interval, mean over seeds)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both", lw=0.4)
    ax.legend(fontsize=7, ncol=2)
  if not models:
    axes[0, 0].text(0.5, 0.5, "no runs", ha="center", transform=axes[0, 0].transAxes)
  fig.suptitle("Learning curves (dots: where a seed fitted the training set)")
  plots.save_figure(fig, path, dpi=100)


def _plot_against_p(results: Sequence[SeedResult], value: Callable[[SeedResult], float],
                    ylabel: str, title: str, path: str, chance: float | None = None) -> None:
  """One line per model of `value(result)` against p: the mean over fitted seeds with its
  min-max range; seeds that did not fit are hollow markers at their last logged value."""
  by_model = defaultdict(list)
  for r in results:
    if r.p is not None:
      by_model[r.model].append(r)
  fig, ax = plt.subplots(figsize=(6, 4.5))
  unfitted_labelled = False
  for index, (model, model_results) in enumerate(sorted(by_model.items())):
    colour = f"C{index}"
    fitted = defaultdict(list)
    for r in model_results:
      if r.fitted:
        fitted[r.p].append(value(r))
    ps = sorted(fitted)  # Empty when no seed fitted: the model still gets its legend entry.
    means = np.array([np.mean(fitted[p]) for p in ps])
    spread = [means - [min(fitted[p]) for p in ps], [max(fitted[p]) for p in ps] - means]
    ax.errorbar(ps, means, yerr=spread, color=colour, marker="o", capsize=3,
                label=f"{model}: mean over fitted seeds, bars: min-max")
    unfitted = [r for r in model_results if not r.fitted]
    if unfitted:
      label = None if unfitted_labelled else "did not fit (value at last step)"
      ax.plot([r.p for r in unfitted], [value(r) for r in unfitted], linestyle="none",
              marker="o", markerfacecolor="none", markeredgecolor=colour, markersize=9,
              label=label)
      unfitted_labelled = True
  if chance is not None:
    ax.axhline(chance, color="grey", linestyle=":", label="chance")
  if not by_model:
    ax.text(0.5, 0.5, "no label-corruption runs", ha="center", transform=ax.transAxes)
  ax.set_xlabel("label corruption p")
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.legend(fontsize=8)
  plots.save_figure(fig, path, dpi=100)


def plot_steps_to_fit(results: Sequence[SeedResult], path: str) -> None:
  """Figure 1b: steps to fit the training set against label corruption p, per model."""
  _plot_against_p(results, lambda r: r.step, "steps to fit the training set",
                  "Convergence slowdown", path)


def plot_test_error(results: Sequence[SeedResult], path: str) -> None:
  """Figure 1c: test error at the fitting point against label corruption p, per model."""
  _plot_against_p(results, lambda r: 1.0 - r.test_accuracy, "test error at fit",
                  "Generalization error growth", path, chance=0.9)


def analyse(paths: str | Sequence[str],
            out: str | None = None) -> tuple[list[SeedResult], list[str]]:
  """Reads the runs under `paths` and draws the three figures.

  Args:
    paths: a sweep directory or run, or several.
    out: where to write the PNGs and table.txt (default: the first path's figures/).

  Returns:
    (the per-seed results, the paths of the three figures).
  """
  args = cli.Invocation(None, [paths] if isinstance(paths, str) else list(paths), out)
  runs = load_runs(paths)
  results = seed_results(runs)
  figures = [args.output(name) for name in FIGURES]
  plot_loss_curves(runs, results, figures[0])
  plot_steps_to_fit(results, figures[1])
  plot_test_error(results, figures[2])
  with open(args.output("table.txt"), "w") as f:
    f.write(format_table(results) + "\n")
  return results, figures


def main(args: cli.Invocation) -> None:
  """Prints the table and the paths of the figures."""
  results, figures = analyse(args.paths, args.out)
  print(format_table(results) + "\n\n" + "\n".join(figures))


if __name__ == "__main__":
  cli.run(main, path_flags=["sweep_dir"])
