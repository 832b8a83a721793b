"""Hyperplane statistics over training, and layer criticality, from a run's checkpoints.

  python -m jaxgen.analysis.hyperplanes projections WORKDIR [--seed_index=0] [--with_linear]
  python -m jaxgen.analysis.hyperplanes criticality WORKDIR [--seed_index=0] [--with_linear]

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
`metrics.projection_with_linear`, off unless set, as in the original code).
"""

import dataclasses
import json
import os
import types
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import ml_collections  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from jaxgen import checkpoints, path_rules, run_log, steps  # noqa: E402
from jaxgen.config import read_run_config
from jaxgen.config.validation import model_kwargs  # noqa: E402
from jaxgen.data.augment import prepare_inputs  # noqa: E402
from jaxgen.data.pipeline import load_dataset, padded_batches  # noqa: E402
from jaxgen.metrics.hyperplanes import (  # noqa: E402
  NET,
  distance_from_init,
  filter_projections,
  hyperplane_layers,
  projection_statistics,
)
from jaxgen.models import build_model  # noqa: E402
from jaxgen.plots import save_figure  # noqa: E402

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


def steps_per_epoch(workdir: str) -> int:
  """A run's steps per epoch, from the step and epoch of its first logged row."""
  row = next(r for r in run_log.read_metrics(workdir) if r["epoch"] > 0)
  return round(row["step"] / row["epoch"])


def _layers(params: PyTree, layer_rule: str, with_linear: bool) -> list[str]:
  layers = hyperplane_layers(params, layer_rule, with_linear)
  if not layers:
    raise ValueError("no layer to measure: the model has no conv kernel larger than 1x1"
                     + ("" if with_linear else "; pass --with_linear to use dense layers"))
  return layers


@dataclasses.dataclass
class Run:
  """A finished run, loaded for analysis: its config, data, model and test evaluation."""

  workdir: str
  config: ml_collections.ConfigDict
  steps_per_epoch: int
  evaluate: Callable[[PyTree, PyTree], float]  # (params, batch_stats) -> test accuracy.
  init: Callable[[jax.Array], PyTree]  # key -> freshly initialised params.

  @classmethod
  def load(cls, workdir: str) -> "Run":
    config = read_run_config(workdir)
    dataset = load_dataset(config.data)
    model = build_model(config.model.name, dataset.num_classes, **model_kwargs(config.model))
    test = jax.device_put(padded_batches(dataset.test, config.train.eval_batch_size))

    @jax.jit
    def accuracy(params, batch_stats):
      variables = types.SimpleNamespace(params=params, batch_stats=batch_stats)
      return steps.eval_step(variables, *test, model=model, config=config)["accuracy"]

    sample = prepare_inputs(dataset.train.images[:1], None, False, config.data, config.augment)
    init = jax.jit(lambda key: model.init({"params": key, "dropout": key}, sample,
                                          train=False)["params"])
    return cls(workdir, config, len(dataset.train) // config.train.batch_size,
               lambda params, stats: float(accuracy(params, stats)), init)

  def epoch(self, step: int) -> float:
    return step / self.steps_per_epoch


def projections_over_training(workdir: str, seed_index: int = 0,
                              with_linear: bool = False) -> dict[int, dict[str, dict]]:
  """{step: {layer or "net": {"mean", "mass"[, "l2_dist", "l_inf_dist"]}}} for every saved
  checkpoint; the distances are from the step-0 kernels (layers only, not "net")."""
  layer_rule = read_run_config(workdir)["metrics"]["layer_rule"]
  initial = checkpoints.load(workdir, 0, seed_index)["params"]
  _layers(initial, layer_rule, with_linear)
  result = {}
  for step in checkpoints.saved_steps(workdir):
    params = checkpoints.load(workdir, step, seed_index)["params"]
    stats = projection_statistics(filter_projections(params, layer_rule, with_linear))
    distances = distance_from_init(params, initial, layer_rule, with_linear)
    result[step] = {layer: {k: float(v) for k, v in {**values, **distances.get(layer, {})}.items()}
                    for layer, values in stats.items()}
  return result


def criticality(run: Run, seed_index: int = 0, with_linear: bool = False,
                rerandomize_seed: int = 2**31 - 1) -> dict:
  """Test accuracy with each layer reset to each donor, and the relative drops.

  Args:
    run: the loaded run.
    seed_index: which seed of the run.
    with_linear: also reset dense layers.
    rerandomize_seed: seed of the fresh initialisation used as the "rand" donor.

  Returns:
    {"layers": [...], "trained_accuracy": float, "rows": {donor label: {"epoch",
    "accuracies", "relative_drops"}}}, donors in epoch order then "rand".
  """
  final = checkpoints.load(run.workdir, None, seed_index)
  params, batch_stats = final["params"], final["batch_stats"]
  layers = _layers(params, run.config.metrics.layer_rule, with_linear)
  trained = run.evaluate(params, batch_stats)
  donors = {}  # Label -> (epoch or None, donor params).
  for step in checkpoints.saved_steps(run.workdir):
    if step != final["step"]:
      donor = checkpoints.load(run.workdir, step, seed_index)["params"]
      donors[f"epoch {run.epoch(step):g}"] = (run.epoch(step), donor)
  donors[RANDOM_DONOR] = (None, run.init(jax.random.key(rerandomize_seed)))
  rows = {}
  for label, (epoch, donor) in donors.items():
    accuracies = [run.evaluate(swap_layer(params, donor, layer), batch_stats)
                  for layer in layers]
    rows[label] = {"epoch": epoch, "accuracies": accuracies,
                   "relative_drops": relative_drops(trained, accuracies)}
  return {"layers": layers, "trained_accuracy": trained, "rows": rows}


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
  ax.set_title(f"relative test-accuracy drop (trained: {100 * result['trained_accuracy']:.1f}%)",
               fontsize=9)
  fig.colorbar(image, ax=ax)
  save_figure(fig, path)


def plot_mass(result: dict[int, dict[str, dict]], epoch_steps: int, path: str) -> None:
  """Each layer's mass against epoch (viridis, first layer dark), the net's in black."""
  steps_ = sorted(result)
  layers = [layer for layer in result[steps_[0]] if layer != NET]
  epochs = [step / epoch_steps for step in steps_]
  fig, ax = plt.subplots(figsize=(6, 4))
  for colour, layer in zip(plt.cm.viridis(np.linspace(0, 1, max(len(layers), 1))), layers,
                           strict=False):
    ax.plot(epochs, [result[s][layer]["mass"] for s in steps_], color=colour, marker=".",
            label=layer)
  ax.plot(epochs, [result[s][NET]["mass"] for s in steps_], color="black", ls="--", label=NET)
  ax.axhline(0.5, color="grey", lw=0.5)
  ax.set_ylim(0, 1)
  ax.set_xlabel("epoch")
  ax.set_ylabel("mass: fraction of filters with projection <= 0")
  if len(layers) <= 12:
    ax.legend(fontsize=7)
  save_figure(fig, path)




OUTPUTS = {"projections": "projections.json", "criticality": "criticality.json"}


def main(argv: list[str]) -> None:
  logging.get_absl_handler().addFilter(lambda record: "/orbax/" not in record.pathname)
  if len(argv) != 3 or argv[1] not in OUTPUTS:
    raise app.UsageError(f"usage: {argv[0]} {{{'|'.join(OUTPUTS)}}} WORKDIR")
  command, workdir = argv[1:]
  with_linear = flags.FLAGS.with_linear
  if with_linear is None:
    with_linear = read_run_config(workdir)["metrics"]["projection_with_linear"]
  out = flags.FLAGS.out or os.path.join(workdir, "figures", f"{command}.png")
  if command == "projections":
    epoch_steps = steps_per_epoch(workdir)
    result = projections_over_training(workdir, flags.FLAGS.seed_index, with_linear)
    layers = list(next(iter(result.values())))
    print("epoch   " + "  ".join(f"{layer.split('/')[0][:14]:>14s}" for layer in layers))
    for step, stats in result.items():
      print(f"{step / epoch_steps:6g}  " + "  ".join(
          f"{stats[layer]['mass']:6.3f}/{stats[layer]['mean']:+.3f}" for layer in layers))
    print("(mass/mean per layer)")
    plot_mass(result, epoch_steps, out)
  else:
    result = criticality(Run.load(workdir), flags.FLAGS.seed_index, with_linear,
                         flags.FLAGS.rerandomize_seed)
    print(f"trained test accuracy {result['trained_accuracy']:.4f}; relative drops:")
    print("donor      " + " ".join(f"{i + 1:>6d}" for i in range(len(result["layers"]))))
    for label, row in result["rows"].items():
      print(f"{label:10s} " + " ".join(f"{d:6.3f}" for d in row["relative_drops"]))
    plot_criticality(result, out)
  with open(os.path.join(workdir, OUTPUTS[command]), "w") as f:
    json.dump(run_log.json_safe(result), f, indent=1)
  print(f"wrote {out}")


if __name__ == "__main__":
  flags.DEFINE_integer("seed_index", 0, "Which seed of the run.")
  flags.DEFINE_bool("with_linear", None, "Also count dense layers (default: as the run "
                    "logged them, config.metrics.projection_with_linear).")
  flags.DEFINE_integer("rerandomize_seed", 2**31 - 1, "criticality: key of the fresh init donor.")
  flags.DEFINE_string("out", None, "PNG to write (default: WORKDIR/figures/<command>.png).")
  app.run(main)
