"""The notebook series: each .ipynb agrees with its jupytext .py and runs under papermill."""
import shutil
from pathlib import Path

import jupytext
import papermill
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
            assert isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant), \
                f"{py.name}: parameters must be plain literals"


@pytest.fixture(scope="module")
def dataset_copy(small_dataset, tmp_path_factory):
    dst = tmp_path_factory.mktemp("nb") / "ds"
    shutil.copytree(small_dataset, dst)
    return dst


def run(name: str, out_dir: Path, **params) -> None:
    src = REPO_ROOT / "notebooks" / f"{name}.ipynb"
    papermill.execute_notebook(str(src), str(out_dir / src.name), parameters=params,
                               kernel_name=KERNEL, progress_bar=False, cwd=str(REPO_ROOT / "notebooks"))


def test_exploration_and_split_run_on_a_dataset(dataset_copy, tmp_path):
    run("01_data_exploration", tmp_path, DATA_DIR=str(dataset_copy), N_EXAMPLES=2)
    run("02_dataset_split", tmp_path, DATA_DIR=str(dataset_copy), VAL_FRAC=0.25, SEED=3)
    import pandas as pd
    tr = pd.read_csv(dataset_copy / "train_split.csv")
    va = pd.read_csv(dataset_copy / "val_split.csv")
    assert len(tr) + len(va) == 24 and len(va) > 0
    out = jupytext.read(tmp_path / "02_dataset_split.ipynb")
    text = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert f"train: {len(tr)} images   validation: {len(va)} images" in text
    assert "0 in both" in text
