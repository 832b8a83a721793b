"""Hyperplane statistics over training, and layer criticality, from a run's checkpoints.

  python -m jaxgen.analysis.hyperplanes projections PATH... [--out=DIR] [--seed_index=0]
  python -m jaxgen.analysis.hyperplanes criticality PATH... [--out=DIR] [--with_linear]

Each run of the paths (a run or a sweep directory) is analysed on its own; its JSON goes into
its workdir, its figure into DIR (default: the run's figures/ folder).

`projections` (Gamba et al.): for every saved checkpoint, each layer's mass (fraction of
filters whose normalised projection on the all-ones direction is <= 0), mean projection and
relative distances from init (l2_dist, l_inf_dist); prints a table, writes
`projections.json` (keyed by step) and draws the mass of every layer against epoch.

`criticality` (Zhang, Bengio & Singer 2019, as Gamba et al.'s `reinit_layers.py` runs it):
for every saved checkpoint τ and for a freshly initialised network ("rand", drawn from an
explicit key independent of the run's own init), each layer in turn gets its kernel and bias
from that donor while every other layer, and every BatchNorm statistic, stays trained; the
test accuracy (eval mode) of the result gives the relative drop
(acc_trained - acc_reset) / acc_trained. Writes `criticality.json` and a heatmap (rows:
donor epochs, columns: layers 1..L). Both use the same layers: convs with kernels larger than
1x1, plus dense layers with --with_linear (default: the run's
`metrics.projection_with_linear`, off unless set, as in the original code). `criticality`
also prints and stores Spearman's rank correlation between each layer's bias |mass - 0.5| in
the trained net and its drop when re-initialised to the init (Gamba et al.'s claim that the
biased layers are the critical ones predicts a positive rho).
"""

import json
import os

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from jaxgen import evaluation, path_rules, plots, run_log  # noqa: E402
from jaxgen.analysis import cli  # noqa: E402
from jaxgen.analysis.runs import Run, load_runs  # noqa: E402
from jaxgen.metrics.hyperplanes import (  # noqa: E402
  NET,
  distance_from_init,
  filter_projections,
  hyperplane_layers,
  projection_statistics,
)

PyTree = path_rules.PyTree
RANDOM_DONOR = "rand"


def swap_layer(params: PyTree, donor: PyTree, kernel_path: str) -> PyTree:
  """`params` with the module owning `kernel_path` (kernel and bias) taken from `donor`."""
  module = kernel_path.rsplit("/", 1)[0] + "/"
  return path_rules.map_with_path(
      lambda path, leaf, donor_leaf: donor_leaf if path.startswith(module) else leaf,
      params, donor)


def relative_drops(trained_accuracy: float, accuracies: list[float]) -> list[float]:
  """(acc_trained - acc_reset) / acc_trained for each reset layer (NaN if acc_trained is 0)."""
  if trained_accuracy == 0:
    return [float("nan")] * len(accuracies)
  return [(trained_accuracy - a) / trained_accuracy for a in accuracies]


def average_ranks(values) -> np.ndarray:
  """Ranks 1..n of `values`, tied values sharing the mean of their ranks."""
  values = np.asarray(values, dtype=float)
  ordinal = np.empty(len(values))
  ordinal[np.argsort(values, kind="stable")] = np.arange(1, len(values) + 1)
  _, group = np.unique(values, return_inverse=True)
  return (np.bincount(group, weights=ordinal) / np.bincount(group))[group]


def spearman(x, y) -> float:
  """Spearman's rank correlation (Pearson's on average ranks); NaN if a side is constant,
  has fewer than 2 values, or contains NaN."""
  x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
  if len(x) < 2 or np.isnan(x).any() or np.isnan(y).any():
    return float("nan")
  rx, ry = average_ranks(x) - (len(x) + 1) / 2, average_ranks(y) - (len(y) + 1) / 2
  norm = np.sqrt((rx**2).sum() * (ry**2).sum())
  return float((rx * ry).sum() / norm) if norm > 0 else float("nan")


def bias_criticality(result: dict, final_mass: list[float]) -> dict:
  """Gamba et al.'s link, as a number: Spearman's rho between each layer's bias |mass - 0.5|
  (trained net) and its relative drop when re-initialised to the init (the epoch-0 row; rho
  is None without a step-0 checkpoint)."""
  bias = [abs(m - 0.5) for m in final_mass]
  init_rows = [row for row in result["rows"].values() if row["epoch"] == 0]
  rho = spearman(bias, init_rows[0]["relative_drops"]) if init_rows else None
  return {"final_mass": final_mass, "bias": bias, "bias_criticality_spearman": rho}


def _layers(params: PyTree, layer_rule: str, with_linear: bool) -> list[str]:
  layers = hyperplane_layers(params, layer_rule, with_linear)
  if not layers:
    raise ValueError("no layer to measure: the model has no conv kernel larger than 1x1"
                     + ("" if with_linear else "; pass --with_linear to use dense layers"))
  return layers


def projections_over_training(run: Run, seed_index: int = 0,
                              with_linear: bool = False) -> dict[int, dict[str, dict]]:
  """{step: {layer or "net": {"mean", "mass"[, "l2_dist", "l_inf_dist"]}}} for every saved
  checkpoint; the distances are from the step-0 kernels (layers only, not "net")."""
  layer_rule = run.config.metrics.layer_rule
  initial = run.load_params(0, seed_index)["params"]
  _layers(initial, layer_rule, with_linear)
  result = {}
  for step in run.checkpoint_steps():
    params = run.load_params(step, seed_index)["params"]
    stats = projection_statistics(filter_projections(params, layer_rule, with_linear))
    distances = distance_from_init(params, initial, layer_rule, with_linear)
    result[step] = {layer: {k: float(v) for k, v in {**values, **distances.get(layer, {})}.items()}
                    for layer, values in stats.items()}
  return result


def criticality(run: Run, seed_index: int = 0, with_linear: bool = False,
                rerandomize_seed: int = 2**31 - 1) -> dict:
  """Test accuracy with each layer reset to each donor, and the relative drops.

  Args:
    run: a finished run with checkpoints.
    seed_index: which seed of the run.
    with_linear: also reset dense layers.
    rerandomize_seed: seed of the fresh initialisation used as the "rand" donor.

  Returns:
    {"layers": [...], "trained_accuracy": float, "rows": {donor label: {"epoch",
    "accuracies", "relative_drops"}}}, donors in epoch order then "rand"; plus the trained
    layers' "final_mass", "bias" |mass - 0.5| and "bias_criticality_spearman"
    (`bias_criticality`).
  """
  model, dataset = evaluation.load_model_and_data(run.config)
  evaluate = evaluation.make_evaluator(model, run.config, dataset.test.images,
                                       dataset.test.labels)
  final = run.load_params(None, seed_index)
  params, batch_stats = final["params"], final["batch_stats"]
  layers = _layers(params, run.config.metrics.layer_rule, with_linear)
  trained = evaluate(params, batch_stats)["accuracy"]
  donors = {}  # Label -> (epoch or None, donor params).
  for step in run.checkpoint_steps():
    if step != final["step"]:
      epoch = step / run.steps_per_epoch()
      donors[f"epoch {epoch:g}"] = (epoch, run.load_params(step, seed_index)["params"])
  fresh = evaluation.init_params(model, run.config, dataset.train.images[:1],
                                 jax.random.key(rerandomize_seed))
  donors[RANDOM_DONOR] = (None, fresh)
  rows = {}
  for label, (epoch, donor) in donors.items():
    accuracies = [evaluate(swap_layer(params, donor, layer), batch_stats)["accuracy"]
                  for layer in layers]
    rows[label] = {"epoch": epoch, "accuracies": accuracies,
                   "relative_drops": relative_drops(trained, accuracies)}
  result = {"layers": layers, "trained_accuracy": trained, "rows": rows}
  stats = projection_statistics(filter_projections(params, run.config.metrics.layer_rule,
                                                   with_linear))
  return {**result, **bias_criticality(result, [float(stats[layer]["mass"]) for layer in layers])}


def plot_criticality(result: dict, path: str) -> None:
  """Heatmap of relative accuracy drops: donors (rows) x layers 1..L (columns)."""
  labels = list(result["rows"])
  drops = np.array([result["rows"][label]["relative_drops"] for label in labels])
  fig, ax = plt.subplots(figsize=(0.55 * drops.shape[1] + 2.5, 0.4 * len(labels) + 1.6))
  image = ax.imshow(drops, cmap="viridis", vmin=0, vmax=1, aspect="auto")
  for (i, j), value in np.ndenumerate(drops):
    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
            color="white" if value < 0.5 else "black")
  ax.set_xticks(range(drops.shape[1]), [str(i + 1) for i in range(drops.shape[1])])
  ax.set_yticks(range(len(labels)), labels)
  ax.set_xlabel("layer")
  ax.set_title(f"relative test-accuracy drop when one layer is reset to the donor's\n"
               f"(trained: {100 * result['trained_accuracy']:.1f}%; rand: a fresh init)",
               fontsize=9)
  ax.set_ylabel("donor")
  fig.colorbar(image, ax=ax, label="(acc_trained - acc_reset) / acc_trained")
  plots.save_figure(fig, path)


def plot_mass(result: dict[int, dict[str, dict]], epoch_steps: int, path: str) -> None:
  """Each layer's mass against epoch (`plots.draw_layer_curves`), the net's in black."""
  steps = sorted(result)
  epochs = np.array([step / epoch_steps for step in steps])
  fig, ax = plt.subplots(figsize=(6, 4))
  ax.axhline(0.5, color="grey", lw=0.5)
  # Drawn first so that the layers' legend lists it too.
  ax.plot(epochs, [result[s][NET]["mass"] for s in steps], color="black", ls="--", label=NET,
          zorder=3)
  curves = {layer: np.array([result[s][layer]["mass"] for s in steps])
            for layer in result[steps[0]] if layer != NET}
  plots.draw_layer_curves(ax, epochs, curves, marker=".")
  ax.set_ylim(-0.03, 1.03)  # A mass of 0 or 1 would hide under the frame.
  ax.set_title("one seed, from its checkpoints (grey: 0.5, no bias)", fontsize=8)
  ax.set_ylabel("mass: fraction of filters with projection <= 0")
  plots.save_figure(fig, path)


def projections_table(result: dict[int, dict[str, dict]], epoch_steps: int) -> str:
  """The text table of `projections_over_training`: per checkpoint (epoch), each layer's
  mass/mean projection."""
  layers = list(next(iter(result.values())))
  lines = ["epoch   " + "  ".join(f"{layer.split('/')[0][:14]:>14s}" for layer in layers)]
  for step, stats in result.items():
    lines.append(f"{step / epoch_steps:6g}  " + "  ".join(
        f"{stats[layer]['mass']:6.3f}/{stats[layer]['mean']:+.3f}" for layer in layers))
  lines.append("(mass/mean per layer)")
  return "\n".join(lines)


def criticality_table(result: dict) -> str:
  """The text table of `criticality`: relative drops per donor and layer, the trained layers'
  mass, and the bias-criticality Spearman rho."""
  lines = [f"trained test accuracy {result['trained_accuracy']:.4f}; relative drops:",
           "donor      " + " ".join(f"{i + 1:>6d}" for i in range(len(result["layers"])))]
  for label, row in result["rows"].items():
    lines.append(f"{label:10s} " + " ".join(f"{d:6.3f}" for d in row["relative_drops"]))
  lines.append(f"{'mass':10s} " + " ".join(f"{m:6.3f}" for m in result["final_mass"]))
  rho = result["bias_criticality_spearman"]
  lines.append("Spearman rho(|mass - 0.5|, epoch-0 drop): "
               + ("n/a (no init checkpoint)" if rho is None else f"{rho:.3f}"))
  return "\n".join(lines)


COMMANDS = ("projections", "criticality")


def main(args: cli.Invocation) -> None:
  """Runs `args.command` on every run of the paths: prints the table, writes
  <command>.json into the run's workdir and the figure into --out."""
  runs = load_runs(args.paths)
  for run in runs:
    with_linear = flags.FLAGS.with_linear
    if with_linear is None:
      with_linear = run.config.metrics.projection_with_linear
    name = f"{args.command}.png" if len(runs) == 1 else f"{run.name}_{args.command}.png"
    out = args.output(name, run.workdir)
    if args.command == "projections":
      result = projections_over_training(run, flags.FLAGS.seed_index, with_linear)
      print(projections_table(result, run.steps_per_epoch()))
      plot_mass(result, run.steps_per_epoch(), out)
    else:
      result = criticality(run, flags.FLAGS.seed_index, with_linear,
                           flags.FLAGS.rerandomize_seed)
      print(criticality_table(result))
      plot_criticality(result, out)
    with open(os.path.join(run.workdir, f"{args.command}.json"), "w") as f:
      json.dump(run_log.json_safe(result), f, indent=1)
    print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_integer("seed_index", 0, "Which seed of each run.")
  flags.DEFINE_bool("with_linear", None, "Also count dense layers (default: as the run "
                    "logged them, config.metrics.projection_with_linear).")
  flags.DEFINE_integer("rerandomize_seed", 2**31 - 1, "criticality: key of the fresh init donor.")
  cli.run(main, COMMANDS)
