"""Model files on disk: torch.save atomically, torch.load with weights_only=True.

Every model file (checkpoints, best.pt, the shipped models) is read with
`torch.load(weights_only=True)`: tensors, numbers, strings and containers only, so a
crafted file cannot run code when it is loaded; one that tries is refused with
`UnsafeFileError`, never skipped silently. A damaged file is told apart from an unsafe
one: it raises ValueError (a training run then resumes from the checkpoint before). Every
file torch writes is a zip whose parts carry a CRC-32 checksum; it is verified before
loading, so a changed byte anywhere (a bad disk, an interrupted copy) is found instead of
loading silently, and a file that is neither torch's zip nor a pickle (Google Drive's
"virus scan warning" page saved under the model's name) is named for what it is.
Checkpoints written before random-number states became tensors hold NumPy arrays, and
exactly the NumPy types those need are allowed in addition.
"""
from __future__ import annotations

import errno
import os
import pickle
import re
import shutil
import zipfile
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
    return atomic_write(path, lambda tmp: _torch_save(state, tmp, path), check, sync=True)


def _torch_save(state: dict, tmp, path) -> None:
    try:
        torch.save(state, tmp)
    except RuntimeError as e:  # torch's writer says "[enforce fail at inline_container.cc...] file write failed"
        if "write" not in str(e):
            raise
        free = shutil.disk_usage(Path(tmp).parent).free
        full = free < (256 << 20)  # less than a checkpoint is about to need
        raise OSError(errno.ENOSPC if full else errno.EIO,
                      f"{path}: could not be written: " + (f"no space left on the device ({free >> 20} MB free)"
                                                           if full else f"a write failed ({str(e).splitlines()[0]})")) from None


def check_intact(path: str | os.PathLike, what: str = "model file") -> None:
    """ValueError naming the file when it is not an intact torch file: a zip part failing its
    CRC-32 checksum, a broken zip, or bytes that are neither a zip nor a pickle."""
    with open(path, "rb") as f:
        head = f.read(64)
    if not head:
        raise ValueError(f"{path}: not a {what}: the file is empty")
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()  # reads every part and checks its CRC-32
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise ValueError(f"{path}: damaged {what} (truncated or broken: {e})") from None
        if bad is not None:
            raise ValueError(f"{path}: damaged {what}: its part {bad.split('/', 1)[-1]!r} fails its CRC-32 "
                             "checksum (a byte changed since it was written); it was not loaded") from None
    elif not head.startswith(b"\x80"):  # torch's legacy format is a pickle, which starts so
        kind = (" (an HTML page, such as Google Drive's virus-scan warning saved in place of the file)"
                if head.lstrip().lower().startswith((b"<!doctype", b"<html")) else "")
        raise ValueError(f"{path}: not a {what}: it starts with {head[:24]!r}{kind}")


def load_file(path: str | os.PathLike, what: str = "model file") -> dict:
    """torch.load a model file on the CPU with weights_only=True, after check_intact.

    A file that asks to build any other object (the way a crafted pickle runs code)
    raises UnsafeFileError; a truncated, damaged or foreign one raises ValueError; both name the file.
    """
    try:
        check_intact(path, what)
        with torch.serialization.safe_globals(LEGACY_NUMPY_TYPES):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"GLOBAL ([\w.]+)", str(e))  # only a request for a global can run code
        if "Weights only load failed" in str(e) and found:
            raise UnsafeFileError(
                f"{path}: refused: this {what} asks to run or build {found.group(1)}"
                ", which a model file never needs; it may have been crafted to run code. It was not "
                "loaded. Use a file you trained or downloaded from a source you trust") from None
        reason = re.search(r"WeightsUnpickler error: \s*(.+)", str(e))
        raise ValueError(f"{path}: damaged {what} ({reason.group(1) if reason else e})") from None
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"{path}: unreadable {what} ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a {what} (holds a {type(state).__name__}, not a dict)")
    return state
