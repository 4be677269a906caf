"""Bad input is a clear error that names the file and what is wrong."""
import shutil

import numpy as np
import pytest
from PIL import Image

from helpers.core.images import ImageFileError, read_gray, read_rgb, save_png
from helpers.data.dacon import DatasetError, load_pair, read_test_csv, read_train_csv


def test_corrupt_empty_missing_images(tmp_path):
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00 garbage")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageFileError, match=r"corrupt\.png: not a readable image"):
        read_gray(tmp_path / "corrupt.png")
    with pytest.raises(ImageFileError, match=r"empty\.png: file is empty"):
        read_gray(tmp_path / "empty.png")
    with pytest.raises(ImageFileError, match=r"nowhere\.png: file not found"):
        read_rgb(tmp_path / "nowhere.png")


def test_truncated_png_is_caught_at_read_time(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (512, 512), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ImageFileError, match=r"cut\.png: not a readable image"):
        read_gray(path)


def test_wrong_mode_and_size(tmp_path):
    Image.new("RGB", (512, 512)).save(tmp_path / "rgb.png")
    Image.new("L", (300, 200)).save(tmp_path / "small.png")
    with pytest.raises(ImageFileError, match=r"rgb\.png: mode is RGB, expected L"):
        read_gray(tmp_path / "rgb.png")
    with pytest.raises(ImageFileError, match=r"small\.png: mode is L, expected RGB"):
        read_rgb(tmp_path / "small.png")
    with pytest.raises(ImageFileError, match=r"small\.png: size is 300x200, expected 512x512"):
        load_pair(tmp_path / "small.png", tmp_path / "rgb.png")


def test_save_png_is_atomic_and_checks_dtype(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        save_png(np.zeros((4, 4), np.float32), tmp_path / "x.png")
    save_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png")
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temp file left behind


@pytest.fixture
def dataset_copy(small_dataset, tmp_path):
    dst = tmp_path / "ds"
    shutil.copytree(small_dataset, dst)
    return dst


def test_csv_row_pointing_nowhere(dataset_copy):
    (dataset_copy / "train_input" / "TRAIN_00005.png").unlink()
    with pytest.raises(DatasetError, match=r"train\.csv: row 7 points to './train_input/TRAIN_00005.png'"):
        read_train_csv(dataset_copy)


def test_missing_csv_missing_column_no_rows_duplicates(dataset_copy):
    csv = dataset_copy / "test.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("path\n" + "\n".join(lines[1:]) + "\n")
    with pytest.raises(DatasetError, match=r"test\.csv: missing column\(s\) \['input_image_path'\]"):
        read_test_csv(dataset_copy)
    csv.write_text(lines[0] + "\n")
    with pytest.raises(DatasetError, match="no rows"):
        read_test_csv(dataset_copy)
    csv.write_text("\n".join([lines[0], lines[1], lines[1]]) + "\n")
    with pytest.raises(DatasetError, match="duplicate file name 'TEST_000.png'"):
        read_test_csv(dataset_copy)
    csv.unlink()
    with pytest.raises(DatasetError, match=r"test\.csv: not found"):
        read_test_csv(dataset_copy)


def test_data_dir_env_var_points_at_real_data(dataset_copy, monkeypatch):
    monkeypatch.setenv("DATA_DIR", str(dataset_copy))
    assert len(read_train_csv()) == 24 and len(read_test_csv()) == 8


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    from helpers.core import files
    path = save_png(np.zeros((4, 4), np.uint8), tmp_path / "x.png")
    assert path.stat().st_mode & 0o777 == 0o666 & ~files._UMASK  # not mkstemp's private 0600
