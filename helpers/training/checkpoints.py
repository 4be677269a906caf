"""A training run's checkpoints: epoch files, random-number states, resuming past bad files.

Each checkpoint is one file, epoch_XXXX.pt in the run's folder (helpers.core.runs), written
to a temporary name and renamed (helpers.networks.torch_files.save), so a crash mid-save
leaves the previous checkpoints intact; `load_latest` skips a truncated or corrupt file (a
half-synced Drive copy) with a warning and takes the one before. An unsafe file is never
skipped. Random-number states are stored as tensors and plain numbers, so that they load
with weights_only=True.
"""
from __future__ import annotations

import os
import random
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from helpers.networks.torch_files import UnsafeFileError, load_file, save

EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pt$")


def rng_state() -> dict:
    """Python's, NumPy's and torch's random states as tensors and plain numbers (safe to load)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": random.getstate(), "torch": torch.get_rng_state(),
            "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np_state = state["numpy"]
    if isinstance(np_state, dict):
        np_state = (np_state["kind"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                    np_state["has_gauss"], np_state["cached_gaussian"])
    np.random.set_state(np_state)  # a tuple in checkpoints written before the tensor form
    torch.set_rng_state(state["torch"])


def save_epoch(state: dict, folder: str | os.PathLike, epoch: int) -> Path:
    return save({**state, "epoch": epoch}, Path(folder) / f"epoch_{epoch:04d}.pt")


def epoch_files(folder: str | os.PathLike) -> list[Path]:
    """Checkpoint files of a run, newest epoch first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := EPOCH_FILE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def load(path: str | os.PathLike) -> dict:
    """Load a training checkpoint on the CPU; a corrupt file raises a ValueError naming it."""
    state = load_file(path, "checkpoint")
    if "epoch" not in state:
        raise ValueError(f"{path}: not a training checkpoint (no 'epoch' entry)")
    return state


def load_latest(folder: str | os.PathLike) -> dict | None:
    """The newest readable checkpoint of a run (None if the run has none).

    A truncated or corrupt file is skipped with a warning (a half-synced Drive copy);
    when epoch files exist but none can be read, a ValueError lists them rather than
    letting training start over and overwrite the run's best.pt. An unsafe file is
    never skipped: UnsafeFileError.
    """
    files = epoch_files(folder)
    problems = []
    for path in files:
        try:
            state = load(path)
        except UnsafeFileError:
            raise
        except ValueError as e:
            warnings.warn(f"skipping {e}; trying the previous checkpoint", stacklevel=2)
            problems.append(str(e))
            continue
        state["path"] = str(path)
        return state
    if files:
        raise ValueError(f"{folder}: none of its {len(files)} epoch checkpoint(s) can be read, so the run "
                         "cannot resume and was not restarted (that would overwrite its best.pt and "
                         "history.csv):\n  " + "\n  ".join(problems) + "\nTo start afresh, choose a new run "
                         "name, or move this folder away first if you want to keep its files.")
    return None
