"""Where training runs live: one folder per run under the runs root, found, created and checked.

The root is helpers.core.runtime.runs_root(): drive_checkpoints/ of the repository
locally, of Google Drive's project folder in Colab (so runs survive a disconnect and a
new runtime), of /kaggle/working on Kaggle; CHECKPOINT_ROOT overrides all three.
`run_path` is the one place a run's folder is named. `run_dir` checks the folder is
writable before any training starts; on Kaggle it first copies a run found in an
attached earlier output, so training continues it. `find_run` finds a finished run to
read, on Kaggle among the attached outputs too.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from helpers.core import runtime
from helpers.core.files import FolderError, ensure_writable as _ensure_writable


class StorageError(RuntimeError):
    """The checkpoint folder is missing, not mounted or not writable."""


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
    """Where run `run` lives under `root` (default: helpers.core.runtime.runs_root()); nothing is checked or created."""
    if not run or "/" in run or run.startswith("."):
        raise ValueError(f"run name must be a plain folder name, got {run!r}")
    return Path(root or runtime.runs_root()) / run


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

