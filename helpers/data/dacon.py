"""Reading a DACON-format dataset (helpers.data.layout), the real `open.zip` and the embedded sample alike.

`data_dir()` picks the folder: the DATA_DIR environment variable if set (point it
at an unzipped `open.zip`; "sample" means the embedded sample), else, on this machine, the
embedded sample; on Colab and Kaggle no data is an error that says where to put it
(helpers.core.runtime). The sample is built the first time a runtime asks for it.
`fingerprint()` identifies a dataset by its contents, wherever it lies, so a run resumed on
other data, or split files of another dataset, are told apart.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import runtime
from helpers.core.images import read_gray, read_rgb, to_gray
from helpers.data.layout import IMAGE_SIZE, SAMPLE, TEST_COLUMNS, TRAIN_COLUMNS


class DatasetError(ValueError):
    """The dataset's CSVs or folders are inconsistent (names the file and the problem)."""


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The dataset folder: an explicit path, else $DATA_DIR, else (on this machine only) the
    embedded sample; "sample" asks for the sample anywhere (built when missing)."""
    chosen = str(path or os.environ.get("DATA_DIR") or "")
    if chosen == SAMPLE or (not chosen and runtime.where() == "local"):
        return sample_dataset()
    if not chosen:
        raise DatasetError(runtime.no_data_message())
    return Path(chosen).expanduser().resolve()


def sample_dataset() -> Path:
    """The embedded sample dataset, built first if this machine has none (a fresh Colab or
    Kaggle runtime): the build is deterministic, so every runtime gets the same files."""
    folder = runtime.sample_dir()
    if not (folder / "build.json").is_file():
        from helpers.data.synthetic import build  # the builder is only needed here
        print(f"building the embedded sample dataset in {folder} ...", flush=True)
        build(folder)
    return folder.resolve()


FINGERPRINT_FILES = 16  # images whose bytes are hashed besides every file's size


def fingerprint(root: str | os.PathLike) -> str:
    """A short hash of a dataset's contents: train.csv and test.csv, the size of every file they
    list and the bytes of a few of them. The same data anywhere (another runtime, another
    path) gives the same value; another build or another photo set does not. Cached per
    train.csv version, since it stats every file (59,206 for DACON)."""
    root = Path(root).resolve()
    csvs = [root / n for n in ("train.csv", "test.csv") if (root / n).is_file()]
    key = tuple((str(c), c.stat().st_mtime_ns, c.stat().st_size) for c in csvs)
    return _fingerprint(root, key)


@lru_cache(maxsize=8)
def _fingerprint(root: Path, key: tuple) -> str:
    h = hashlib.sha256()
    files = []
    for csv, _, _ in key:
        data = Path(csv).read_bytes()
        h.update(data)
        df = pd.read_csv(csv, dtype=str)
        files += [p for col in df.columns for p in df[col].dropna()]
    for rel in files:
        p = root / rel
        h.update(f"{rel}:{p.stat().st_size if p.is_file() else -1};".encode())
    step = max(1, len(files) // FINGERPRINT_FILES)
    for rel in files[::step][:FINGERPRINT_FILES]:
        p = root / rel
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def dataset_id(root: str | os.PathLike) -> str:
    """A folder name for things that belong to one dataset: its folder's name and fingerprint."""
    return f"{Path(root).resolve().name}-{fingerprint(root)}"


def read_csv(root: str | os.PathLike, name: str, columns: list[str], csv_dir=None) -> pd.DataFrame:
    """Read one of the dataset's CSVs, check its columns, and add absolute paths.

    Each `<col>` value (./train_input/...) gets a resolved twin column `<col>_abs`,
    relative to the dataset folder `root`; the CSV itself is in csv_dir (default: root).
    A missing file, a missing column, an empty CSV, a duplicate name or a row whose
    image does not exist is a DatasetError naming the CSV, the row and the path.
    """
    root = Path(root)
    csv = Path(csv_dir or root) / name
    if not csv.is_file():
        raise DatasetError(f"{csv}: not found (is DATA_DIR the unzipped competition folder?)")
    df = pd.read_csv(csv, dtype=str)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DatasetError(f"{csv}: missing column(s) {missing}; found {list(df.columns)}")
    if df.empty:
        raise DatasetError(f"{csv}: has a header but no rows")
    for col in columns:
        if df[col].isna().any():
            row = int(df.index[df[col].isna()][0])
            raise DatasetError(f"{csv}: row {row + 2} has an empty {col}")
        dup = df[col].map(lambda p: Path(p).name).duplicated()
        if dup.any():
            raise DatasetError(f"{csv}: duplicate file name {Path(df[col][dup].iloc[0]).name!r} in {col}")
        df[col + "_abs"] = [str((root / p).resolve()) for p in df[col]]
        absent = [i for i, p in enumerate(df[col + "_abs"]) if not Path(p).is_file()]
        if absent:
            i = absent[0]
            raise DatasetError(f"{csv}: row {i + 2} points to {df[col][i]!r}, which does not exist "
                               f"({len(absent)} such row(s) in all)")
    return df


def read_train_csv(root=None) -> pd.DataFrame:
    return read_csv(data_dir(root), "train.csv", TRAIN_COLUMNS)


def read_test_csv(root=None) -> pd.DataFrame:
    return read_csv(data_dir(root), "test.csv", TEST_COLUMNS)


def load_pair(input_path, gt_path, size=IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(gray input (H, W) uint8, colour truth (H, W, 3) uint8), both checked for mode and size."""
    return read_gray(input_path, size), read_rgb(gt_path, size)


def lost_region_mask(input_gray: np.ndarray, gt_rgb: np.ndarray) -> np.ndarray:
    """The lost region as the score defines it: input != PIL-gray(truth).

    Outside the region the competition's input equals PIL's gray of the truth byte
    for byte; inside, the rare pixels whose gray already equals the fill value are
    indistinguishable and so not part of this mask.
    """
    if input_gray.shape != gt_rgb.shape[:2]:
        raise ValueError(f"input {input_gray.shape} and truth {gt_rgb.shape} differ in size")
    return input_gray != to_gray(gt_rgb)
