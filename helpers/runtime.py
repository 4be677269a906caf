"""Where the notebooks run (Colab, Kaggle or this machine) and where their data, runs and splits live.

Every notebook's environment cell calls `prepare()` once, so the data location is set in
one place for the whole series (the DATA_DIR environment variable), not per notebook:
    Colab   DACON's open.zip (or its unzipped folder) on Google Drive, by default
            MyDrive/dacon-photo-restore/open.zip (DACON_ZIP overrides), is unzipped once to
            local disk (/content/data/open) with a progress bar: reading 29,603 files from
            a Drive folder is slow and known to fail with I/O errors. Checkpoints stay on Drive.
    Kaggle  the competition data is read where it is, in /kaggle/input (read-only: the
            first folder there holding train.csv); runs and the split files go to
            /kaggle/working.
    local   $DATA_DIR if set, else the embedded sample dataset (built by notebook 01).
`work_dir()` is where files that belong beside read-only data go (the split CSVs).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

from . import REPO_ROOT, SAMPLE_DIR

KAGGLE_INPUT = Path("/kaggle/input")
KAGGLE_WORKING = Path("/kaggle/working")
COLAB_ZIP = Path("/content/drive/MyDrive/dacon-photo-restore/open.zip")
COLAB_LOCAL = Path("/content/data")
STAGED = ".staged"  # marks a completely unzipped copy


def where() -> str:
    """'colab', 'kaggle' or 'local'."""
    if importlib.util.find_spec("google.colab") is not None:
        return "colab"
    if KAGGLE_INPUT.is_dir():
        return "kaggle"
    return "local"


def work_dir() -> Path:
    """Where files that belong beside read-only data go: $WORK_DIR, /kaggle/working, or runs/."""
    if os.environ.get("WORK_DIR"):
        return Path(os.environ["WORK_DIR"]).expanduser()
    return KAGGLE_WORKING if where() == "kaggle" else REPO_ROOT / "runs"


def find_dataset(top: Path, depth: int = 3) -> Path | None:
    """The first folder under `top` (breadth first, at most `depth` levels) that holds train.csv."""
    level = [top]
    for _ in range(depth + 1):
        for folder in level:
            if (folder / "train.csv").is_file():
                return folder
        level = [p for folder in level for p in sorted(folder.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return None


def unzip_once(archive: Path, dest: Path) -> Path:
    """Unzip `archive` into `dest` (a temporary folder renamed into place when complete) and
    return the folder holding train.csv; an earlier complete copy is reused."""
    if dest.exists():  # an earlier copy (ours, or unzipped by hand): used as it is, never replaced
        found = find_dataset(dest)
        if found is None:
            raise FileNotFoundError(f"{dest}: exists but holds no train.csv; move it away to unzip {archive} there")
        return found
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            with tqdm(total=sum(m.file_size for m in members), unit="B", unit_scale=True,
                      desc=f"unzipping {archive.name}") as bar:
                for m in members:
                    zf.extract(m, tmp)
                    bar.update(m.file_size)
        (tmp / STAGED).write_text(str(archive))
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    found = find_dataset(dest)
    if found is None:
        raise FileNotFoundError(f"{archive}: no train.csv inside; is it DACON's open.zip?")
    return found


def stage_colab(source: Path | None = None) -> Path | None:
    """The DACON data on local disk in Colab, staged from Drive once (None if there is none)."""
    source = Path(source or os.environ.get("DACON_ZIP") or COLAB_ZIP)
    if source.is_file() and source.suffix == ".zip":
        return unzip_once(source, COLAB_LOCAL / source.stem)
    if source.is_dir():
        found = find_dataset(source)
        if found:
            dest = COLAB_LOCAL / found.name
            if not (dest / STAGED).is_file():
                print(f"copying {found} to local disk ({dest}) ...")
                shutil.copytree(found, dest, dirs_exist_ok=True)
                (dest / STAGED).write_text(str(found))
            return dest
    return None


def prepare() -> Path:
    """Find (and in Colab stage) the dataset, set DATA_DIR (and on Kaggle CHECKPOINT_ROOT), say where."""
    place = where()
    data = os.environ.get("DATA_DIR")
    if not data and place == "colab":
        staged = stage_colab()
        data = str(staged) if staged else None
        if not data:
            print(f"no DACON data at {COLAB_ZIP} (set DACON_ZIP to open.zip or its folder on Drive): "
                  "using the embedded sample dataset")
    elif not data and place == "kaggle":
        found = find_dataset(KAGGLE_INPUT)
        data = str(found) if found else None
        os.environ.setdefault("CHECKPOINT_ROOT", str(KAGGLE_WORKING / "drive_checkpoints"))
        if not data:
            print("no folder with train.csv under /kaggle/input (add the competition data): "
                  "using the embedded sample dataset")
    if data:
        os.environ["DATA_DIR"] = data
    print(f"running in {place}; dataset: {data or SAMPLE_DIR} "
          f"({'DATA_DIR' if data else 'the embedded sample'}); work files: {work_dir()}")
    return Path(data) if data else SAMPLE_DIR
