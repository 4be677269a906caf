"""Model files on disk: torch.save atomically, torch.load with weights_only=True.

Every model file (checkpoints, best.pt, the shipped models) is read with
`torch.load(weights_only=True)`: tensors, numbers, strings and containers only, so a
crafted file cannot run code when it is loaded; one that tries is refused with
`UnsafeFileError`, never skipped silently. Checkpoints written before random-number
states became tensors hold NumPy arrays, and exactly the NumPy types those need are
allowed in addition.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import torch

from helpers.core.files import atomic_write


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


def save(state: dict, path: str | os.PathLike, check=None) -> Path:
    """torch.save, atomically and synced to storage (a temporary file in the same folder,
    fsync, then rename: on Google Drive the file is whole before its name appears; `check`
    as in helpers.core.files.atomic_write)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp), check, sync=True)


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

