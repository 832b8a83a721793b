"""Everything jaxgen can say about finished runs: each run's figures and numbers, then every
study analysis that the runs' logs and checkpoints support.

  python -m jaxgen.analysis.overview PATH... [--out=DIR]

A PATH is a run or a sweep directory. Per run: its status and final metrics per seed and
split, and the figures of `jaxgen.plots.plot_run`. Then, for the runs that logged what a study
needs:
- layer rotation ("layer_rotation/..." rows): the rotation curves side by side; with an α/ρ(0)
  sweep of finished runs, test accuracy against both;
- randomization tests (runs with a data corruption): Figure 1 and the fitting table;
- hyperplanes ("projection_mass/..." rows and checkpoints): each run's projection mass over
  its checkpoints;
- feature diversity ("backward_correlation/..." rows): the correlation table and panels;
- relative weight change ("relative_weight_change/..." rows): per-layer RWC averaged over
  seeds (runs differing only in seeds pooled).
Figures go to DIR (default: the first PATH's figures/).
"""

import dataclasses
import os
from collections.abc import Sequence

from jaxgen import plots
from jaxgen.analysis import cli, diversity, hyperplanes, layer_rotation, randomization, rwc
from jaxgen.analysis.runs import Run, load_runs, pool_seeds


@dataclasses.dataclass(frozen=True)
class Section:
  """One part of the overview: a title, its text (a table or a note) and its figures."""

  title: str
  text: str
  figures: tuple[str, ...] = ()


def run_status(run: Run) -> str:
  """"finished", "unfinished" (no summary.json) or "diverged: <why>"."""
  if run.summary is None:
    return "unfinished"
  if "diverged" in run.summary:
    return f"diverged: {run.summary['diverged']}"
  return "finished"


def final_metrics_table(run: Run) -> str:
  """Per seed and split, the step, epoch, loss and accuracy of the last logged row."""
  lines = []
  for seed in run.seeds:
    for split, row in sorted(run.last_rows(seed).items()):
      lines.append((str(seed), split, str(row["step"]), f"{row['epoch']:g}",
                    f"{float(row['loss']):.4f}", f"{float(row['accuracy']):.4f}"))
  return cli.text_table(("seed", "split", "step", "epoch", "loss", "accuracy"), lines)


def _logs(runs: Sequence[Run], metric: str) -> list[Run]:
  return [run for run in runs if plots.layer_keys(run.rows, metric)]


def _run_sections(run: Run) -> Section:
  config = run.config
  text = (f"{config.model.name} on {config.data.name}, seeds {tuple(run.seeds)}, "
          f"{run_status(run)}\n" + final_metrics_table(run))
  return Section(f"run {run.name}", text, tuple(plots.plot_run(run.workdir)))


def _layer_rotation(runs: Sequence[Run], out: cli.Invocation) -> list[Section]:
  logged = _logs(runs, "layer_rotation")
  if not logged:
    return []
  path = out.output("rotation_curves.png")
  layer_rotation.plot_rotation_panels(logged, path)
  sections = [Section("layer rotation: curves per run (first seed)", "", (path,))]
  finished = [run for run in logged if run.summary is not None]
  settings = {(float(run.config.optim.alpha), float(run.config.optim.learning_rate))
              for run in finished}
  if len(settings) > 1:  # A sweep over α or ρ(0): the paper's Fig. 2.
    results = [r for run in finished for r in layer_rotation.seed_results(run)]
    path = out.output("accuracy_vs_alpha_rho.png")
    layer_rotation.plot_sweep(results, path)
    sections.append(Section("layer rotation: test accuracy against α and ρ(0)",
                            layer_rotation.format_sweep_table(results), (path,)))
  return sections


def _randomization(runs: Sequence[Run], out: cli.Invocation) -> list[Section]:
  corrupted = [run for run in runs if run.config.data.corruption.kind != "none"]
  if not corrupted:
    return []
  results, figures = randomization.analyse([run.workdir for run in runs],
                                           os.path.dirname(out.output("table.txt")))
  return [Section("randomization tests: Figure 1", randomization.format_table(results),
                  tuple(figures))]


def _hyperplanes(runs: Sequence[Run], out: cli.Invocation) -> list[Section]:
  sections = []
  for run in _logs(runs, "projection_mass"):
    with_linear = run.config.metrics.projection_with_linear
    try:
      result = hyperplanes.projections_over_training(run, 0, with_linear)
    except ValueError as error:  # No layer the measure applies to.
      sections.append(Section(f"hyperplanes: {run.name}", f"skipped: {error}"))
      continue
    path = out.output(f"{run.name}_projections.png")
    hyperplanes.plot_mass(result, run.steps_per_epoch(), path)
    sections.append(Section(f"hyperplanes: projection mass of {run.name} (first seed)",
                            hyperplanes.projections_table(result, run.steps_per_epoch()),
                            (path,)))
  return sections


def _diversity(runs: Sequence[Run], out: cli.Invocation) -> list[Section]:
  logged = [run for run in _logs(runs, "backward_correlation")
            if plots.layer_keys(run.rows, "forward_correlation")]
  if not logged:
    return []
  path = out.output("correlations.png")
  diversity.plot_backward_correlations(logged, path)
  return [Section("feature diversity: weight correlations (first seed)",
                  diversity.summary_table(logged), (path,))]


def _rwc(runs: Sequence[Run], out: cli.Invocation) -> list[Section]:
  logged = _logs(runs, rwc.METRIC)
  if not logged:
    return []
  settings = pool_seeds(logged)
  path = out.output("rwc_curves.png")
  rwc.plot_curves(settings, path)
  return [Section("relative weight change (seed means)",
                  "\n".join(rwc.summarise(setting) for setting in settings), (path,))]


STUDIES = (_layer_rotation, _randomization, _hyperplanes, _diversity, _rwc)


def analyse(paths: str | Sequence[str], out: str | None = None) -> list[Section]:
  """Every section the runs under `paths` support: one per run, then the studies'.

  Args:
    paths: a run or sweep directory, or several.
    out: where the study figures go (default: the first path's figures/); each run's own
      figures go to its figures/.

  Returns:
    The sections, runs first (in `load_runs` order), then the studies that apply.
  """
  paths = [paths] if isinstance(paths, str) else list(paths)
  invocation = cli.Invocation(None, paths, out)
  runs = load_runs(paths)
  sections = [_run_sections(run) for run in runs]
  for study in STUDIES:
    sections.extend(study(runs, invocation))
  return sections


def main(args: cli.Invocation) -> None:
  """Prints every section's title, text and figure paths."""
  for section in analyse(args.paths, args.out):
    print(f"== {section.title}\n{section.text}")
    print("\n".join(f"wrote {path}" for path in section.figures) + "\n")


if __name__ == "__main__":
  cli.run(main)

