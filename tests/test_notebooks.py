"""Every notebook of colabs/ runs top to bottom at smoke size, and is stored without outputs.

Each notebook runs in a fresh kernel in a temporary working directory with JAXGEN_SMOKE=1 (its
studies shrunk to seconds of training), the repository on PYTHONPATH (its `configs` and
`launch` packages) and one JAX compilation cache shared by the kernels: the environment's
JAX_COMPILATION_CACHE_DIR, else a folder in the system's temporary directory that later runs
reuse.
"""

import glob
import os
import tempfile

import nbformat
import pytest
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "colabs", "*.ipynb")))
STUDIES = ("quickstart", "layer_rotation", "randomization", "hyperplanes", "diversity", "rwc",
           "analyse_workdir")


def _name(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def _code_cells(path: str) -> list:
  return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_every_study_has_a_notebook():
  assert sorted(map(_name, NOTEBOOKS)) == sorted(STUDIES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_is_stored_without_outputs(path):
  stored = [(index, cell.execution_count, len(cell.outputs))
            for index, cell in enumerate(_code_cells(path))
            if cell.execution_count is not None or cell.outputs]
  assert not stored, (f"{os.path.basename(path)} holds outputs or execution counts in code "
                      f"cells (index, count, outputs) {stored}: clear them before committing "
                      "(Jupyter: Edit > Clear All Outputs)")


def test_notebooks_share_one_set_up_cell():
  """The first code cell installs jaxgen in a fresh runtime; one repository URL for all."""
  first = {_name(path): _code_cells(path)[0].source for path in NOTEBOOKS}
  assert len(set(first.values())) == 1, sorted(first)
  assert "JAXGEN_REPO_URL = " in next(iter(first.values()))


@pytest.fixture(scope="module")
def compilation_cache():
  return os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(
      tempfile.gettempdir(), "jaxgen_notebooks_jax_cache")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_runs_at_smoke_size(path, tmp_path, monkeypatch, compilation_cache):
  monkeypatch.setenv("JAXGEN_SMOKE", "1")
  monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", compilation_cache)
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
      filter(None, [REPO, os.environ.get("PYTHONPATH")])))
  monkeypatch.setenv("MPLBACKEND", "Agg")
  notebook = nbformat.read(path, as_version=4)
  # Raises CellExecutionError, naming the cell and its traceback, if a cell raises.
  NotebookClient(notebook, timeout=600, kernel_name="python3",
                 resources={"metadata": {"path": str(tmp_path)}}).execute()
  images = sum("image/png" in output.get("data", {})
               for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)
  assert images >= 1, f"{os.path.basename(path)} showed no figure"
  assert os.listdir(tmp_path / "runs"), "the notebook trained nothing in its working directory"
