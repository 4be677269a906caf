"""The notebook series: each .ipynb agrees with its jupytext .py, and what an executed one must show."""
from pathlib import Path

import jupytext
import pytest

from helpers import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
KERNEL = "dacon-photo-restore"


def cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_series_is_numbered_and_paired():
    assert [p.stem[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, len(NOTEBOOKS) + 1)]
    for py in NOTEBOOKS:
        ipynb = py.with_suffix(".ipynb")
        assert ipynb.exists(), f"{ipynb.name} missing: run `jupytext --sync {py.name}`"
        assert cells(jupytext.read(py)) == cells(jupytext.read(ipynb)), \
            f"{py.name} and {ipynb.name} disagree: run `jupytext --sync notebooks/{py.name}`"


def test_each_notebook_has_one_parameters_cell_of_literals():
    import ast
    for py in NOTEBOOKS:
        params = [c for c in jupytext.read(py).cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, py.name
        for node in ast.parse(params[0].source).body:
            assert isinstance(node, ast.Assign), f"{py.name}: parameters must be plain assignments"
            ast.literal_eval(node.value)  # a plain literal (a negative number included), or this raises


def outputs_text(path: Path) -> str:
    nb = jupytext.read(path)
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))


def figures(path: Path) -> int:
    """Pictures an executed notebook holds (inline matplotlib figures)."""
    nb = jupytext.read(path)
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def stderr_chunks(path: Path) -> int:
    nb = jupytext.read(path)
    return sum(o.get("name") == "stderr" for c in nb.cells for o in c.get("outputs", []))


# How many pictures each executed notebook must show (grids, histograms, curves, best / worst cases).
FIGURES = {"01_data_exploration": 3, "03_mask_generator": 2, "04_inpainter": 2, "05_gan_training": 2,
           "06_inference_and_zip": 1}


def assert_readable_report(path: Path) -> None:
    """Figures inline, and progress bars that do not flood the report with text."""
    assert figures(path) >= FIGURES.get(path.stem, 0), f"{path.name}: {figures(path)} figures"
    text = outputs_text(path)
    assert "IProgress not found" not in text
    assert stderr_chunks(path) <= 20, f"{path.name}: {stderr_chunks(path)} stderr outputs (progress bars as text?)"


# The series itself runs in tests/test_platforms.py (simulated Colab and Kaggle, each notebook on a
# fresh runtime) and in nbval (this machine, the project's kernel).


def test_every_notebook_opens_with_the_same_complete_environment_cell():
    """The Colab set-up cannot live in helpers (it fetches them), so it is repeated: keep the copies equal."""
    first = [next(c.source for c in jupytext.read(py).cells if c.cell_type == "code") for py in NOTEBOOKS]
    assert all(src == first[0] for src in first), "environment cells differ; copy 01's into the others"
    compile(first[0], "environment cell", "exec")
    for needed in ("drive.mount", "git\", \"clone", "DACON_REPO_URL", "sys.path.insert", "PYTHONPATH", "setup()"):
        assert needed in first[0], f"environment cell lost its {needed!r} step"


NBVAL_DIR = REPO_ROOT / "tests" / "nbval"


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_reference_matches_the_notebook_source(py):
    """tests/nbval/ holds executed copies of the series: a notebook edit must come with `make nbval-refresh`."""
    ref = NBVAL_DIR / f"{py.stem}.ipynb"
    assert ref.exists(), f"{ref} missing: run `make nbval-refresh`"
    ref_cells = [c for c in jupytext.read(ref).cells if "injected-parameters" not in c.metadata.get("tags", [])]
    assert cells(jupytext.read(py)) == [(c.cell_type, c.source.strip()) for c in ref_cells], \
        f"{ref.name} is out of date with notebooks/{py.name}: run `make nbval-refresh`"
    executed = [c for c in ref_cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in executed), f"{ref.name} was not fully executed"
    assert any("NBVAL_CHECK_OUTPUT" in c.source for c in executed), f"{ref.name} checks no output"
