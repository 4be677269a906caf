"""The sample dataset has exactly the competition's layout and damage statistics."""
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy import ndimage

from conftest import SMALL
from helpers.core.images import to_gray
from helpers.data.dacon import lost_region_mask, read_test_csv, read_train_csv
from helpers.data.synthetic import build


def test_csvs_match_the_competition_format(small_dataset):
    train = pd.read_csv(small_dataset / "train.csv")
    test = pd.read_csv(small_dataset / "test.csv")
    assert list(train.columns) == ["input_image_path", "gt_image_path"]
    assert list(test.columns) == ["input_image_path"]
    assert len(train) == SMALL["n_train"] and len(test) == SMALL["n_test"]
    assert train.input_image_path[0] == "./train_input/TRAIN_00000.png"
    assert train.gt_image_path[0] == "./train_gt/TRAIN_00000.png"
    assert test.input_image_path[0] == "./test_input/TEST_000.png"
    read_train_csv(small_dataset), read_test_csv(small_dataset)  # every row resolves


def test_image_modes_and_sizes(small_dataset):
    for split in ("train", "test"):
        for p in sorted((small_dataset / f"{split}_input").glob("*.png")):
            with Image.open(p) as im:
                assert (im.mode, im.size) == ("L", (512, 512)), p
            with Image.open(small_dataset / f"{split}_gt" / p.name) as im:
                assert (im.mode, im.size) == ("RGB", (512, 512)), p


def test_damage_one_region_one_fill_and_input_is_gray_of_truth_elsewhere(small_dataset):
    meta = pd.read_csv(small_dataset / "meta.csv")
    for row in meta.itertuples():
        inp = np.asarray(Image.open(small_dataset / row.input_image_path))
        gt = np.asarray(Image.open(small_dataset / row.gt_image_path))
        region = np.asarray(Image.open(small_dataset / row.mask_path)) > 0
        assert (inp[~region] == to_gray(gt)[~region]).all(), row.name  # byte for byte
        assert np.unique(inp[region]).tolist() == [row.fill]
        assert 0 <= row.fill <= 100
        assert 0.01 <= region.mean() <= 0.12
        assert abs(region.mean() - row.area_frac) < 1e-6
        assert ndimage.label(region, structure=np.ones((3, 3)))[1] == 1
        derived = lost_region_mask(inp, gt)  # what the score sees
        assert (derived <= region).all() and derived.sum() >= 0.9 * region.sum()


def test_no_source_photo_in_both_train_and_test(small_dataset):
    meta = pd.read_csv(small_dataset / "meta.csv")
    train = set(meta.source[meta.split == "train"])
    test = set(meta.source[meta.split == "test"])
    assert train and test and not (train & test)


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "build.json":
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_build_is_deterministic_whatever_the_worker_count(small_dataset, tmp_path):
    again = build(tmp_path / "again", **SMALL, workers=1, progress=False)
    assert _digest(again) == _digest(small_dataset)
    other = build(tmp_path / "other", **{**SMALL, "seed": SMALL["seed"] + 1}, workers=1, progress=False)
    assert _digest(other) != _digest(small_dataset)


def test_up_to_date_build_is_skipped(tmp_path, capsys):
    out = build(tmp_path / "ds", n_train=4, n_test=2, seed=0, progress=False)
    stamp = (out / "build.json").stat().st_mtime_ns
    build(out, n_train=4, n_test=2, seed=0, progress=False)
    assert "already built" in capsys.readouterr().out
    assert (out / "build.json").stat().st_mtime_ns == stamp


def test_failed_build_leaves_nothing_half_written(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (600, 600), (200, 30, 30)).save(photos / "good.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(Exception, match="broken.jpg"):
        build(tmp_path / "out", n_train=4, n_test=4, seed=0, photos_dir=photos, test_frac=0.5,
              workers=1, progress=False)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["photos"]


def test_a_killed_build_resumes_to_the_same_dataset(small_dataset, tmp_path):
    """DACON's size takes a while to build: killed mid-way, the same command carries on from the
    images it logged and ends with the dataset an uninterrupted build writes; a zip like open.zip."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import zipfile

    from helpers.data.synthetic import write_zip
    out = tmp_path / "ds"
    log = tmp_path / ".ds.partial" / "rows.jsonl"
    cmd = [sys.executable, "-m", "helpers.sample_data", "--out", str(out), "--train", str(SMALL["n_train"]),
           "--test", str(SMALL["n_test"]), "--seed", str(SMALL["seed"]), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 120
    while not (log.is_file() and len(log.read_text().splitlines()) >= 5) and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists() and 5 <= len(log.read_text().splitlines()) < SMALL["n_train"] + SMALL["n_test"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "resuming the build" in res.stdout
    assert _digest(out) == _digest(small_dataset)
    assert not (tmp_path / ".ds.partial").exists()
    archive = write_zip(out, tmp_path / "open.zip", progress=False)
    names = zipfile.ZipFile(archive).namelist()
    assert "train.csv" in names and "test_input/TEST_000.png" in names and "build.json" not in names
