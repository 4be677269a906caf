"""Train / validation split that keeps crops of one source photo on one side.

For the sample dataset, meta.csv names each image's source photo, and whole
sources are assigned to validation until it holds about `val_frac` of the images.
For the real DACON data (no meta.csv) it is a plain seeded split of the rows.
The split is written as train_split.csv / val_split.csv in the same two-column format:
on this machine next to train.csv (when that folder is writable); on Colab and Kaggle, and
for a read-only dataset folder, in persistent storage (helpers.core.runtime.work_dir: Drive,
/kaggle/working) under splits/<dataset name>-<fingerprint>/, because the data's own folder
is a runtime's local copy or read-only, and the next notebook runs on a new runtime. The
readers look there too and, on Kaggle, in the outputs of earlier notebooks attached as inputs.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import runtime
from helpers.core.files import FolderError, atomic_write, ensure_writable
from helpers.data.dacon import data_dir, dataset_id, fingerprint, read_csv, read_train_csv
from helpers.data.layout import SPLIT_FILES, TRAIN_COLUMNS
from helpers.data.photos import photo_sources


def _writable(folder: Path) -> bool:
    try:
        ensure_writable(folder, "dataset folder")
        return True
    except FolderError:
        return False


def split_dir(root, for_writing: bool = False) -> Path:
    """Where a dataset's split files are (for_writing: where notebook 02 puts them): beside
    train.csv on this machine, else work_dir()/splits/<dataset id>, or for reading on Kaggle
    the same folder in an attached earlier output when this session has none."""
    root = Path(root).resolve()
    if runtime.where() == "local" and not runtime.read_only(root) and (
            (root / SPLIT_FILES[0]).is_file() or _writable(root)):
        return root
    ident = dataset_id(root)
    home = runtime.work_dir() / "splits" / ident
    if for_writing or (home / SPLIT_FILES[0]).is_file():
        return home
    return runtime.attached(f"splits/{ident}") or home


def read_split(root, name: str, limit: int = 0) -> pd.DataFrame:
    """train_split.csv / val_split.csv of a dataset (written by notebook 02), checked like train.csv."""
    folder = split_dir(root)
    if not (folder / name).is_file():
        hint = {"kaggle": "; on Kaggle, attach notebook 02's output to this notebook (Add Input)",
                "colab": " (it keeps the split on Drive, where every runtime finds it)"}.get(runtime.where(), "")
        raise FileNotFoundError(f"{folder / name}: not found; run notebook 02 (dataset split) on this "
                                f"dataset first{hint}")
    rows = read_csv(root, name, TRAIN_COLUMNS, csv_dir=folder)
    return rows.head(limit) if limit else rows


def split_rows(train: pd.DataFrame, val_frac: float, seed: int,
               sources: pd.Series | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train rows, validation rows); rows of one source never straddle the split."""
    if not 0 < val_frac < 1:
        raise ValueError(f"val_frac must be between 0 and 1, got {val_frac}")
    rng = np.random.default_rng(seed)
    if sources is None:
        is_val = np.zeros(len(train), bool)
        is_val[rng.permutation(len(train))[: max(1, round(val_frac * len(train)))]] = True
    else:
        counts = sources.value_counts().sort_index()
        order = counts.index[rng.permutation(len(counts))]
        target, taken, val_sources = val_frac * len(train), 0, set()
        for src in order:
            if taken >= target:
                break
            val_sources.add(src)
            taken += counts[src]
        if len(val_sources) == len(counts):
            raise ValueError("too few source photos to keep any for training")
        is_val = sources.isin(val_sources).to_numpy()
    return train[~is_val].reset_index(drop=True), train[is_val].reset_index(drop=True)


def write_split(root: str | os.PathLike | None = None, val_frac: float = 0.2,
                seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split train.csv of a dataset folder and write train_split.csv and val_split.csv."""
    root = data_dir(root)
    train = read_train_csv(root)
    tr, va = split_rows(train, val_frac, seed, photo_sources(root, train))
    folder = split_dir(root, for_writing=True)
    for df, name in ((tr, "train_split.csv"), (va, "val_split.csv")):
        atomic_write(folder / name, lambda tmp, df=df: df[TRAIN_COLUMNS].to_csv(tmp, index=False))
    return tr, va


def data_record(root) -> dict:
    """What a run trains and validates on, for its checkpoints: the dataset's folder, its content
    fingerprint and a hash of its split files (helpers.training.loop refuses to resume on others)."""
    root = data_dir(root)
    folder = split_dir(root)
    digest = hashlib.sha256()
    for name in SPLIT_FILES:
        if (folder / name).is_file():
            digest.update((folder / name).read_bytes())
    return {"dir": str(root), "fingerprint": fingerprint(root), "split": digest.hexdigest()[:12]}


def data_differences(saved: dict | None, now: dict) -> str | None:
    """Why a run trained on `saved` data cannot go on with `now` (None: it can; runs from before
    this record have none and are let through)."""
    if not saved:
        return None
    if saved.get("fingerprint") != now["fingerprint"]:
        return (f"it was trained on the dataset {saved.get('dir')} (fingerprint {saved.get('fingerprint')}), "
                f"this notebook reads {now['dir']} (fingerprint {now['fingerprint']})")
    if saved.get("split") != now["split"]:
        return (f"its dataset's train / validation split has changed since (split files {saved.get('split')} "
                f"then, {now['split']} now: notebook 02 ran again with other settings)")
    return None
