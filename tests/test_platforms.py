"""The series as Colab and Kaggle users run it: every notebook on a fresh runtime, a kill in the
middle of training and its resume, a sweep (tests/platform_sim.py says what is simulated)."""
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from helpers.core import runs, runtime
from helpers.data.dacon import DatasetError, data_dir, dataset_id, fingerprint
from helpers.data.splits import split_dir, write_split
from helpers.data.synthetic import build
from helpers.scoring.submission import validate_zip
from platform_sim import Colab, Kaggle
from test_notebooks import assert_readable_report, outputs_text


def names_of_test_inputs(dataset: Path) -> list[str]:
    return sorted(p.name for p in (dataset / "test_input").iterdir())


def check_submission(zip_path: Path, dataset: Path) -> None:
    assert zip_path.is_file(), f"no {zip_path}"
    assert validate_zip(zip_path, names_of_test_inputs(dataset))["files"] == len(names_of_test_inputs(dataset))


def test_series_in_simulated_colab(small_dataset, tmp_path):
    """01 -> 07, each on a new runtime (empty /content, Drive mounted anew): the split, the runs and the
    submission live on Drive; 05 is killed after its first checkpoint and resumes on the next runtime;
    the sweep's papermill kernels find Drive mounted and do not ask for it."""
    colab = Colab(tmp_path, small_dataset)
    drive = colab.persistent()
    text = outputs_text(colab.run("01_data_exploration"))
    assert "running in colab" in text and str(colab.root / "content" / "dacon-photo-restore" / "helpers") in text
    assert "unzipping open.zip" in text or (colab.root / "content" / "data").is_dir()

    text = outputs_text(colab.run("02_dataset_split"))
    split, = drive.glob("splits/*/")
    tr, va = pd.read_csv(split / "train_split.csv"), pd.read_csv(split / "val_split.csv")
    assert len(tr) + len(va) == 24 and len(va) > 0 and "0 in both" in text
    assert f"train: {len(tr)} images   validation: {len(va)} images" in text
    text = outputs_text(colab.run("03_mask_generator"))  # on a new runtime: finds the split on Drive
    assert len(list((drive / "drive_checkpoints" / "mask" / "test_masks").glob("*.png"))) == 8
    assert "validation IoU" in text
    assert "M on the luminance" in outputs_text(colab.run("04_inpainter"))
    gan = drive / "drive_checkpoints" / "gan"
    colab.run_until("05_gan_training", lambda: (gan / "epoch_0001.pt").is_file(), tag="-killed")
    text = outputs_text(colab.run("05_gan_training"))
    assert "resuming gan after epoch" in text and "best: epoch" in text
    assert pd.read_csv(gan / "history.csv").epoch.tolist() == [1, 2]
    assert (gan / "best.pt").is_file() and list((gan / "tb").iterdir())
    report = colab.run("06_inference_and_zip")
    check_submission(gan / "submission" / "submission.zip", small_dataset)
    for name in ("01_data_exploration", "03_mask_generator", "04_inpainter", "05_gan_training",
                 "06_inference_and_zip"):
        assert_readable_report(colab.outputs / f"{name}.ipynb")
    text = outputs_text(report)
    assert "restored 8 of 8 test images" in text and "DACON score on 8 test images" in text

    # a one-epoch point of 05, run in a papermill child kernel (test_sweep runs a whole sweep)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text("name: sim\nnotebook: 05_gan_training\nbase_files: [tiny/05_gan_training.yaml]\n"
                     "base: {EPOCHS: 1}\ngrid: {CHROMA: [regress]}\n")
    colab.run("07_sweep", SWEEP_FILE=str(sweep), KERNEL="")
    status = json.loads((drive / "sweeps" / "sim" / "status.json").read_text())
    assert {k: v["status"] for k, v in status.items()} == {"chroma-regress": "done"}, status
    mounts = colab.log.read_text().splitlines()
    assert len(mounts) == 8, mounts  # once per runtime (8 notebooks run), never in the sweep's kernels


def test_series_in_simulated_kaggle_offline(small_dataset, tmp_path):
    """01 -> 06 on Kaggle with Internet off, each notebook in its own session: the code comes from an
    attached copy (no index, no clone), the data stays read-only, and every notebook finds what the
    earlier ones wrote in their outputs, attached as inputs; 05 killed, then resumed from its output."""
    kaggle = Kaggle(tmp_path, small_dataset)
    text = outputs_text(kaggle.run("01_data_exploration"))
    assert "running in kaggle" in text and str(kaggle.input / "dacon-photo-restore" / "helpers") in text
    assert str(kaggle.input / "dacon-open") in text
    kaggle.run("02_dataset_split")
    assert list((kaggle.input / "output-02" / "splits").glob("*/val_split.csv"))
    kaggle.run("03_mask_generator")
    kaggle.run("04_inpainter")
    gan = kaggle.persistent() / "drive_checkpoints" / "gan"
    kaggle.run_until("05_gan_training", lambda: (gan / "epoch_0001.pt").is_file(), tag="-killed")
    text = outputs_text(kaggle.run("05_gan_training"))
    assert "an attached earlier output" in text and "resuming gan after epoch" in text
    assert pd.read_csv(gan / "history.csv").epoch.tolist() == [1, 2]
    kaggle.run("06_inference_and_zip")
    check_submission(kaggle.persistent() / "drive_checkpoints" / "gan" / "submission" / "submission.zip",
                     small_dataset)


# Units of the same behaviour, without the notebooks.

@pytest.fixture
def on(monkeypatch, tmp_path):
    """Pretend to run on a platform, with tmp_path as "/"."""
    def place(name: str):
        for var in ("DATA_DIR", "CHECKPOINT_ROOT", "WORK_DIR", "DACON_ZIP"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("DACON_SIMULATED_ROOT", str(tmp_path))
        monkeypatch.setattr(runtime, "where", lambda: name)
        return tmp_path
    return place


@pytest.mark.parametrize("place", ["colab", "kaggle"])
def test_no_data_on_colab_or_kaggle_is_an_error_not_the_sample(on, place):
    on(place)
    assert runtime.prepare() is None
    with pytest.raises(DatasetError, match='DATA_DIR = "sample"') as e:
        data_dir()
    assert ("Google Drive" in str(e.value)) == (place == "colab")


def test_the_sample_is_built_where_the_runtime_can_write_when_asked_for(on, monkeypatch, tmp_path):
    root = on("kaggle")
    built = []
    monkeypatch.setattr("helpers.data.synthetic.build", lambda out: built.append(out) or
                        (Path(out).mkdir(parents=True) or (Path(out) / "build.json").write_text("{}")))
    assert data_dir("sample") == root / "tmp" / "dacon-photo-restore-sample" and len(built) == 1
    assert data_dir("sample") == root / "tmp" / "dacon-photo-restore-sample" and len(built) == 1  # once


def test_fingerprint_follows_the_contents_not_the_path(small_dataset, tmp_path):
    import shutil
    copy = shutil.copytree(small_dataset, tmp_path / "elsewhere" / "open")
    assert fingerprint(copy) == fingerprint(small_dataset)
    other = build(tmp_path / "other", n_train=24, n_test=8, seed=7, progress=False)
    assert fingerprint(other) != fingerprint(small_dataset)  # the same file names, other images


def test_split_files_live_in_persistent_storage_and_are_read_from_attached_outputs(on, small_dataset, tmp_path):
    import shutil
    root = on("colab")
    data = shutil.copytree(small_dataset, tmp_path / "content" / "data" / "open")
    write_split(data, val_frac=0.25, seed=0)
    drive_split = runtime.drive_project() / "splits" / dataset_id(data)
    assert split_dir(data) == drive_split and (drive_split / "val_split.csv").is_file()
    assert not (data / "train_split.csv").exists()  # not on the runtime's disk, which a reset empties

    on("kaggle")
    attached = root / "kaggle" / "input" / "output-02" / "splits" / dataset_id(data)
    shutil.copytree(drive_split, attached)
    assert split_dir(data) == attached
    assert split_dir(data, for_writing=True) == root / "kaggle" / "working" / "splits" / dataset_id(data)


def test_offline_install_names_what_is_missing_and_the_way_out(monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    assert runtime.install_missing(["numpy>=1.0"]) == []  # present: pip is not even started
    with pytest.raises(RuntimeError, match="wheels") as e:
        runtime.install_missing(["no-such-package-dacon>=1.0", "torch>=999"])
    assert "no-such-package-dacon" in str(e.value) and "torch" not in str(e.value).split("\n")[0]


def test_a_run_found_only_in_an_attached_output_is_copied_before_training(on, tmp_path):
    root = on("kaggle")
    earlier = root / "kaggle" / "input" / "output-05" / "drive_checkpoints" / "gan"
    earlier.mkdir(parents=True)
    (earlier / "epoch_0001.pt").write_bytes(b"x")
    (earlier / "run.lock").write_text("{}")
    assert runs.find_run("gan") == earlier
    folder = runs.run_dir("gan")
    assert folder == root / "kaggle" / "working" / "drive_checkpoints" / "gan"
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_0001.pt"]  # the old lock is not copied
    assert runs.find_run("gan") == folder
    assert os.access(folder, os.W_OK)
