"""Drive-style checkpoint storage: where runs live, atomic saves, resuming past bad files.

Runs live under helpers.runtime.runs_root(): drive_checkpoints/<run>/ of the repository
locally, of Google Drive's project folder in Colab (so they survive a disconnect and a new
runtime), of /kaggle/working on Kaggle; CHECKPOINT_ROOT overrides all three. `run_dir`
checks the folder is writable before any training starts; on Kaggle it first copies a run
found in an attached earlier output, so training continues it. `find_run` finds a finished
run to read, on Kaggle among the attached outputs too.
Each checkpoint is one file, written to a temporary name and renamed, so a crash
mid-save leaves the previous checkpoints intact; `load_latest` skips a truncated or
corrupt file (a half-synced Drive copy) with a warning and takes the one before.

Every model file is read with `torch.load(weights_only=True)`: tensors, numbers,
strings and containers only, so a crafted file cannot run code when it is loaded; one
that tries is refused with `UnsafeFileError`, never skipped silently. Random-number
states are stored as tensors and plain numbers for the same reason; checkpoints from
before that change hold NumPy arrays, and exactly the NumPy types those need are
allowed in addition.
"""
from __future__ import annotations

import os
import pickle
import random
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from . import runtime
from .files import FolderError, atomic_write
from .files import ensure_writable as _ensure_writable

EPOCH_FILE = re.compile(r"^epoch_(\d+)\.pt$")


class StorageError(RuntimeError):
    """The checkpoint folder is missing, not mounted or not writable."""


class UnsafeFileError(ValueError):
    """A model file holds more than weights and plain settings: loading it could run code."""


# What checkpoints written before RNG states became tensors need besides weights_only's
# own types: NumPy's legacy RNG state is a uint32 array.
LEGACY_NUMPY_TYPES = [np.ndarray, np.dtype, np.dtypes.UInt32DType]
try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import _reconstruct
LEGACY_NUMPY_TYPES.append(_reconstruct)


def storage_root() -> Path:
    """Where runs live (helpers.runtime.runs_root)."""
    return runtime.runs_root()


def ensure_writable(folder: str | os.PathLike) -> Path:
    """Create `folder` if needed and prove it takes a file; a clear StorageError if not."""
    folder = Path(folder)
    mount = runtime.drive_mount()
    if runtime.where() == "colab" and folder.is_relative_to(mount) and not (mount / "MyDrive").is_dir():
        raise StorageError(f"{folder}: Google Drive is not mounted; run the notebook's first cell "
                           "(drive.mount('/content/drive')) before training")
    try:
        return _ensure_writable(folder, "checkpoint storage")
    except FolderError as e:
        raise StorageError(f"{e}; fix the folder or choose another checkpoint root before training") from e


def run_path(run: str, root: str | os.PathLike | None = None) -> Path:
    """Where run `run` lives under `root` (default: storage_root()); nothing is checked or created."""
    if not run or "/" in run or run.startswith("."):
        raise ValueError(f"run name must be a plain folder name, got {run!r}")
    return Path(root or storage_root()) / run


def find_run(run: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of a run to read: under `root`, else (Kaggle) in an attached earlier output;
    the path under `root` when neither exists, for the caller's not-found error."""
    path = run_path(run, root)
    if path.exists():
        return path
    return runtime.attached(f"drive_checkpoints/{run}") or path


def run_dir(run: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of one training run, checked writable. On Kaggle a run that exists only in
    an attached earlier output (read-only) is copied here first, so training continues it."""
    path = run_path(run, root)
    earlier = find_run(run, root)
    if earlier != path:
        print(f"continuing {run} from {earlier} (an attached earlier output): copied to {path}", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{run}.copy-"))
        try:
            shutil.copytree(earlier, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("run.lock", ".*.tmp"))
            tmp.rename(path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return ensure_writable(path)


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


def save(state: dict, path: str | os.PathLike, check=None) -> Path:
    """torch.save, atomically and synced to storage (a temporary file in the same folder,
    fsync, then rename: on Google Drive the file is whole before its name appears; `check`
    as in helpers.files.atomic_write)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp), check, sync=True)


def save_epoch(state: dict, folder: str | os.PathLike, epoch: int) -> Path:
    return save({**state, "epoch": epoch}, Path(folder) / f"epoch_{epoch:04d}.pt")


def epoch_files(folder: str | os.PathLike) -> list[Path]:
    """Checkpoint files of a run, newest epoch first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := EPOCH_FILE.match(p.name))]
    return [p for _, p in sorted(found, reverse=True)]


def load_file(path: str | os.PathLike, what: str = "model file") -> dict:
    """torch.load a model file on the CPU with weights_only=True.

    A file that asks to build any other object (the way a crafted pickle runs code)
    raises UnsafeFileError; a truncated or corrupt one raises ValueError; both name the file.
    """
    try:
        with torch.serialization.safe_globals(LEGACY_NUMPY_TYPES):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" in str(e):
            found = re.search(r"(?:GLOBAL|global:?) ([\w.]+)", str(e))
            raise UnsafeFileError(
                f"{path}: refused: this {what} asks to run or build {found.group(1) if found else 'an object'}"
                ", which a model file never needs; it may have been crafted to run code. It was not "
                "loaded. Use a file you trained or downloaded from a source you trust") from None
        raise ValueError(f"{path}: unreadable {what} ({type(e).__name__}: {e})") from e
    except Exception as e:
        raise ValueError(f"{path}: unreadable {what} ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a {what} (holds a {type(state).__name__}, not a dict)")
    return state


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
