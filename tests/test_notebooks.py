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
            assert isinstance(node, ast.Assign), f"{py.name}: parameters must be plain assignments"
            ast.literal_eval(node.value)  # a plain literal (a negative number included), or this raises


@pytest.fixture(scope="module")
def dataset_copy(small_dataset, tmp_path_factory):
    dst = tmp_path_factory.mktemp("nb") / "ds"
    shutil.copytree(small_dataset, dst)
    return dst


def run(name: str, out_dir: Path, kernel: str = KERNEL, **params) -> None:
    """Execute a notebook with its tiny test parameters (notebooks/params/tiny/), then `params`."""
    import yaml
    src = REPO_ROOT / "notebooks" / f"{name}.ipynb"
    tiny = yaml.safe_load((REPO_ROOT / "notebooks" / "params" / "tiny" / f"{name}.yaml").read_text()) or {}
    papermill.execute_notebook(str(src), str(out_dir / src.name), parameters={**tiny, **params},
                               kernel_name=kernel, progress_bar=False, cwd=str(REPO_ROOT / "notebooks"))


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


def test_exploration_and_split_run_on_a_dataset(dataset_copy, tmp_path):
    # under the platform's default kernel, as Colab and Kaggle run them (make uses the project's)
    run("01_data_exploration", tmp_path, kernel="python3", DATA_DIR=str(dataset_copy))
    assert_readable_report(tmp_path / "01_data_exploration.ipynb")
    run("02_dataset_split", tmp_path, kernel="python3", DATA_DIR=str(dataset_copy), VAL_FRAC=0.25, SEED=3)
    import pandas as pd
    tr = pd.read_csv(dataset_copy / "train_split.csv")
    va = pd.read_csv(dataset_copy / "val_split.csv")
    assert len(tr) + len(va) == 24 and len(va) > 0
    text = outputs_text(tmp_path / "02_dataset_split.ipynb")
    assert f"train: {len(tr)} images   validation: {len(va)} images" in text
    assert "0 in both" in text


def test_training_and_inference_notebooks_write_their_artefacts(dataset_copy, tmp_path):
    """03 -> 04 -> 05 -> 06 with tiny settings: checkpoints, masks, a valid zip and a printed score."""
    import zipfile
    ck = tmp_path / "ck"
    run("02_dataset_split", tmp_path, DATA_DIR=str(dataset_copy))
    run("03_mask_generator", tmp_path, DATA_DIR=str(dataset_copy), CHECKPOINT_ROOT=str(ck))
    assert (ck / "mask" / "best.pt").is_file() and (ck / "mask" / "epoch_0001.pt").is_file()
    assert len(list((ck / "mask" / "test_masks").glob("*.png"))) == 8
    assert "validation IoU" in outputs_text(tmp_path / "03_mask_generator.ipynb")

    run("04_inpainter", tmp_path, DATA_DIR=str(dataset_copy), CHECKPOINT_ROOT=str(ck))
    assert (ck / "inpainter" / "best.pt").is_file() and (ck / "inpainter" / "config.json").is_file()
    assert "M on the luminance" in outputs_text(tmp_path / "04_inpainter.ipynb")

    run("05_gan_training", tmp_path, DATA_DIR=str(dataset_copy), CHECKPOINT_ROOT=str(ck))
    assert sorted(p.name for p in (ck / "gan").glob("epoch_*.pt")) == ["epoch_0001.pt", "epoch_0002.pt"]
    assert (ck / "gan" / "best.pt").is_file() and list((ck / "gan" / "tb").iterdir())
    assert "best: epoch" in outputs_text(tmp_path / "05_gan_training.ipynb")

    sub = tmp_path / "submission"
    run("06_inference_and_zip", tmp_path, DATA_DIR=str(dataset_copy), CHECKPOINT_ROOT=str(ck), OUT_DIR=str(sub))
    names = sorted(zipfile.ZipFile(sub / "submission.zip").namelist())
    assert names == sorted(p.name for p in (dataset_copy / "test_input").iterdir())
    for name in ("03_mask_generator", "04_inpainter", "05_gan_training", "06_inference_and_zip"):
        assert_readable_report(tmp_path / f"{name}.ipynb")
    text = outputs_text(tmp_path / "06_inference_and_zip.ipynb")
    assert "restored 8 of 8 test images" in text and "DACON score on 8 test images" in text


def test_every_notebook_opens_with_the_same_complete_environment_cell():
    """The Colab set-up cannot live in helpers (it installs them), so it is repeated: keep the copies equal."""
    first = [next(c.source for c in jupytext.read(py).cells if c.cell_type == "code") for py in NOTEBOOKS]
    assert all(src == first[0] for src in first), "environment cells differ; copy 01's into the others"
    compile(first[0], "environment cell", "exec")
    for needed in ("drive.mount", "git\", \"clone", "pip\", \"install", "sys.path.insert"):
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
