"""Where the notebooks run (Colab, Kaggle or this machine) and where their data, runs and splits live.

Colab and Kaggle give every notebook its own machine, so whatever one notebook leaves for
the next must be in storage that outlives it:
    Colab   persistent: Google Drive, MyDrive/dacon-photo-restore/ (runs in drive_checkpoints/,
            split files in splits/, sweeps, submissions of the shipped model). Data: DACON's
            open.zip on Drive (MyDrive/dacon-photo-restore/open.zip; DACON_ZIP overrides, also
            with an unzipped folder), unzipped once per runtime to its local disk (/content/data):
            reading 29,603 files from a Drive folder is slow and known to fail with I/O errors.
    Kaggle  persistent: /kaggle/working, kept as the notebook's output. Data: read where it is,
            under /kaggle/input (read-only). The outputs of earlier notebooks, which the user
            attaches as inputs, are searched for split files and runs (`attached`); a run that
            is trained further is first copied into /kaggle/working.
    local   persistent: the repository (drive_checkpoints/, runs/). Data: $DATA_DIR, else the
            embedded sample.
On Colab and Kaggle the embedded sample is used only when asked for (DATA_DIR = "sample"):
a series that silently trained on 400 sample images instead of DACON's data would waste hours.
DACON_SIMULATED_ROOT names the folder that stands for "/" (/content, /kaggle, /tmp): the
test suite simulates both platforms with it; leave it unset.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from tqdm.auto import tqdm

from helpers import REPO_ROOT, SAMPLE_DIR

PROJECT = "dacon-photo-restore"
STAGED = ".staged"  # marks a completely unzipped copy
# Installed by `make` locally, never needed in a notebook on Colab or Kaggle (tests, browser test,
# make scale's memory sampling).
DEV_ONLY = {"nbval", "selenium", "jupytext", "psutil"}
# The platform's own builds (CUDA): checked (helpers.core.runtime.check_torch), never reinstalled.
PLATFORM_OWN = {"torch", "torchvision"}


# The oldest torch the code runs on: torch.serialization.safe_globals (checkpoints) and
# torch.onnx.export(dynamo=...) (onnx_backend) are new in 2.5. pyproject.toml says the same.
MIN_TORCH = (2, 5)


def check_torch(version: str | None = None) -> None:
    """Raise a RuntimeError naming the installed and the required torch when the installed one
    (or `version`) is older than MIN_TORCH; the notebooks' setup calls it before anything trains."""
    version = version or importlib.metadata.version("torch")
    found = re.match(r"(\d+)\.(\d+)", version)
    if found and tuple(map(int, found.groups())) >= MIN_TORCH:
        return
    need = ".".join(map(str, MIN_TORCH))
    raise RuntimeError(f"torch {version} is installed, but this project needs torch >= {need} "
                       "(for torch.serialization.safe_globals and torch.onnx.export(dynamo=...)); "
                       f"upgrade it and its torchvision: pip install -U 'torch>={need}' torchvision")


def system_root() -> Path:
    """The folder standing for "/": "/" itself unless a simulation sets DACON_SIMULATED_ROOT."""
    return Path(os.environ.get("DACON_SIMULATED_ROOT") or "/")


def kaggle_input() -> Path:
    return system_root() / "kaggle" / "input"


def kaggle_working() -> Path:
    return system_root() / "kaggle" / "working"


def colab_local() -> Path:
    """This Colab runtime's own disk for data (gone with the runtime)."""
    return system_root() / "content" / "data"


def drive_mount() -> Path:
    return system_root() / "content" / "drive"


def drive_project() -> Path:
    """The project's folder on Google Drive (Colab)."""
    return drive_mount() / "MyDrive" / PROJECT


def where() -> str:
    """'colab', 'kaggle' or 'local'."""
    if importlib.util.find_spec("google.colab") is not None:
        return "colab"
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") or kaggle_input().is_dir():
        return "kaggle"
    return "local"


def work_dir() -> Path:
    """Persistent storage for what is not a run (split files, sweeps, submissions):
    $WORK_DIR, else Drive's project folder (Colab), /kaggle/working (Kaggle) or runs/ (local)."""
    if os.environ.get("WORK_DIR"):
        return Path(os.environ["WORK_DIR"]).expanduser()
    return {"colab": drive_project, "kaggle": kaggle_working}.get(where(), lambda: REPO_ROOT / "runs")()


def runs_root() -> Path:
    """Where training runs live: $CHECKPOINT_ROOT, else drive_checkpoints/ of Drive's project
    folder (Colab), of /kaggle/working (Kaggle) or of the repository (local)."""
    if os.environ.get("CHECKPOINT_ROOT"):
        return Path(os.environ["CHECKPOINT_ROOT"]).expanduser()
    place = where()
    if place == "colab":
        return drive_project() / "drive_checkpoints"
    if place == "kaggle":
        return kaggle_working() / "drive_checkpoints"
    return REPO_ROOT / "drive_checkpoints"


def sample_dir() -> Path:
    """Where the embedded sample is built: data/sample of the repository locally; on Colab and
    Kaggle the runtime's scratch disk (the repository may be a read-only attached copy there)."""
    place = where()
    if place == "colab":
        return colab_local() / "sample"
    if place == "kaggle":
        return system_root() / "tmp" / f"{PROJECT}-sample"
    return SAMPLE_DIR


def read_only(path: Path) -> bool:
    """Inside Kaggle's inputs (read-only for the notebook, whatever a probe write might say)."""
    try:
        Path(path).resolve().relative_to(kaggle_input().resolve())
        return where() == "kaggle"
    except ValueError:
        return False


def attached(relative: str) -> Path | None:
    """On Kaggle, `relative` (e.g. "drive_checkpoints/gan") inside an earlier notebook's output
    the user attached as an input (/kaggle/input/<name>/ or one level deeper); else None."""
    if where() != "kaggle" or not kaggle_input().is_dir():
        return None
    for pattern in (f"*/{relative}", f"*/*/{relative}"):
        found = sorted(kaggle_input().glob(pattern))
        if found:
            return found[0]
    return None


def find_dataset(top: Path, depth: int = 3) -> Path | None:
    """The first folder under `top` (breadth first, at most `depth` levels) that holds train.csv;
    a copy of this repository (attached on Kaggle) is not a dataset and is passed over."""
    level = [top]
    for _ in range(depth + 1):
        for folder in level:
            if (folder / "train.csv").is_file():
                return folder
        level = [p for folder in level for p in sorted(folder.iterdir())
                 if p.is_dir() and not p.name.startswith(".") and not (p / "helpers" / "core" / "runtime.py").is_file()]
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
            need, free = sum(m.file_size for m in members), shutil.disk_usage(tmp).free
            if need > free:  # DACON's is 15.3 GB: say so now, not after minutes of unzipping
                raise OSError(f"{archive} needs {need / 1e9:.1f} GB unzipped but {dest.parent} has "
                              f"{free / 1e9:.1f} GB free: free some space, or set DACON_ZIP to an unzipped copy")
            with tqdm(total=need, unit="B", unit_scale=True, desc=f"unzipping {archive.name}") as bar:
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


def colab_zip() -> Path:
    return Path(os.environ.get("DACON_ZIP") or drive_project() / "open.zip")


def stage_colab(source: Path | None = None) -> Path | None:
    """The DACON data on this runtime's local disk, staged from Drive once (None if there is none)."""
    source = Path(source or colab_zip())
    if source.is_file() and source.suffix == ".zip":
        return unzip_once(source, colab_local() / source.stem)
    if source.is_dir():
        found = find_dataset(source)
        if found:
            dest = colab_local() / found.name
            if not (dest / STAGED).is_file():
                print(f"copying {found} to local disk ({dest}) ...")
                shutil.copytree(found, dest, dirs_exist_ok=True)
                (dest / STAGED).write_text(str(found))
            return dest
    return None


def no_data_message() -> str:
    """What to do when no dataset was found on Colab or Kaggle."""
    if where() == "colab":
        where_to = (f"put DACON's open.zip on Google Drive as {colab_zip()} (or set DACON_ZIP to the zip or "
                    "its unzipped folder on Drive) and run this notebook again")
    else:
        where_to = ("add the competition data to this notebook (Add Input: a dataset holding train.csv, "
                    "train_input/, train_gt/, test.csv and test_input/, e.g. DACON's open.zip uploaded "
                    "as a Kaggle dataset)")
    return (f"no DACON data found: {where_to}. To try the series on the embedded sample dataset "
            "instead, set DATA_DIR = \"sample\" in the parameters cell.")


def prepare() -> Path | None:
    """Find (and in Colab stage) the dataset and set DATA_DIR; say where everything lives.
    None when no data was found (notebooks then stop at their first read, saying what to do)."""
    place = where()
    data = os.environ.get("DATA_DIR")
    if not data and place == "colab":
        staged = stage_colab()
        data = str(staged) if staged else None
    elif not data and place == "kaggle":
        found = find_dataset(kaggle_input()) if kaggle_input().is_dir() else None
        data = str(found) if found else None
    if data:
        os.environ["DATA_DIR"] = data
    if data:
        shown = data
    elif place == "local":
        shown = f"{SAMPLE_DIR} (the embedded sample)"
    else:
        shown = "none found. " + no_data_message()
    print(f"running in {place}; dataset: {shown}\n  runs: {runs_root()}   split files and other work: {work_dir()}"
          f"   code: {Path(__file__).parents[1]}")
    return Path(data) if data else None


def requirements() -> list[str]:
    """The dependencies in pyproject.toml a notebook needs (not the test-only ones)."""
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [d for d in deps if _name(d) not in DEV_ONLY]


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement
    return Requirement(requirement).name.lower()


def missing(reqs: list[str]) -> list[str]:
    """Those of `reqs` not installed or installed at a version outside their range."""
    from packaging.requirements import Requirement
    out = []
    for text in reqs:
        req = Requirement(text)
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            out.append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(text)
    return out


def install_missing(reqs: list[str] | None = None) -> list[str]:
    """pip-install what the platform lacks (never its torch); from wheels/ of the repository when
    that folder exists (Kaggle without internet), else from the package index. Returns what it
    installed; a RuntimeError naming the packages and the way out when that fails."""
    needed = [r for r in missing(requirements() if reqs is None else reqs) if _name(r) not in PLATFORM_OWN]
    if not needed:
        return []
    wheels = REPO_ROOT / "wheels"
    cmd = [sys.executable, "-m", "pip", "install", "-q", *needed]
    if wheels.is_dir():
        cmd[4:4] = ["--no-index", "--find-links", str(wheels)]
    print(f"installing {', '.join(needed)}" + (f" from {wheels}" if wheels.is_dir() else ""), flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"could not install {', '.join(needed)}:\n{done.stderr.strip()[-1500:]}\nWithout internet (a Kaggle "
            f"notebook with Internet off), put their wheels in a wheels/ folder of the repository copy you "
            f"attach: on a machine with internet and the platform's Python version, run "
            f"`pip download -d wheels {' '.join(repr(r) for r in needed)}`.")
    return needed


def setup() -> Path | None:
    """The environment cell's work once this repository is importable: on Colab and Kaggle
    install what the platform lacks and check its torch; everywhere find or stage the data."""
    if where() != "local":
        install_missing()
        check_torch()
    return prepare()
