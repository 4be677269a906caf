"""Drive-style checkpoint storage: where runs live, atomic saves, resuming past bad files.

Locally runs live under drive_checkpoints/<run>/; in Colab under
/content/drive/MyDrive/dacon-photo-restore/drive_checkpoints/<run>/ so they survive a
disconnect; the CHECKPOINT_ROOT environment variable overrides both. `run_dir`
checks the folder is writable before any training starts.
Each checkpoint is one file, written to a temporary name and renamed, so a crash
mid-save leaves the previous checkpoints intact; `load_latest` skips a truncated or
corrupt file (a half-synced Drive copy) with a warning and takes the one before.
"""
from __future__ import annotations

import importlib.util
import os
import random
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from . import REPO_ROOT
from .images import atomic_write

PROJECT = "dacon-photo-restore"
COLAB_ROOT = Path("/content/drive/MyDrive") / PROJECT / "drive_checkpoints"
EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pt$")


class StorageError(RuntimeError):
    """The checkpoint folder is missing, not mounted or not writable."""


def in_colab() -> bool:
    return importlib.util.find_spec("google.colab") is not None


def storage_root() -> Path:
    """$CHECKPOINT_ROOT if set, else the Google Drive folder in Colab, else drive_checkpoints/ of the repository."""
    if os.environ.get("CHECKPOINT_ROOT"):
        return Path(os.environ["CHECKPOINT_ROOT"]).expanduser()
    return COLAB_ROOT if in_colab() else REPO_ROOT / "drive_checkpoints"


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create `folder` if needed and prove it takes a file; a clear StorageError if not."""
    folder = Path(folder)
    if in_colab() and str(folder).startswith("/content/drive") and not Path("/content/drive/MyDrive").is_dir():
        raise StorageError(f"{folder}: Google Drive is not mounted; run the notebook's first cell "
                           "(drive.mount('/content/drive')) before training")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as e:
        raise StorageError(f"{folder}: checkpoint storage is not writable ({e.strerror or e}); "
                           "fix the folder or choose another checkpoint root before training") from e
    return folder


def run_dir(run: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of one training run, checked writable."""
    if not run or "/" in run or run.startswith("."):
        raise ValueError(f"run name must be a plain folder name, got {run!r}")
    return ensure_writable(Path(root or storage_root()) / run)


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def save(state: dict, path: str | os.PathLike) -> Path:
    """torch.save, atomically (temporary file in the same folder, then rename)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


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
    """Load a checkpoint on the CPU; a corrupt file raises a ValueError naming it."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise ValueError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or "epoch" not in state:
        raise ValueError(f"{path}: not a training checkpoint (no 'epoch' entry)")
    return state


def load_latest(folder: str | os.PathLike) -> dict | None:
    """The newest readable checkpoint of a run (None if there is none); bad files are skipped."""
    for path in epoch_files(folder):
        try:
            state = load(path)
        except ValueError as e:
            warnings.warn(f"skipping {e}; trying the previous checkpoint", stacklevel=2)
            continue
        state["path"] = str(path)
        return state
    return None
