"""Colab and Kaggle simulated on this machine, as their users meet them.

Both platforms give every notebook a machine of its own. A simulation keeps a folder that
stands for "/" (DACON_SIMULATED_ROOT, read by the notebooks' environment cell and
helpers.core.runtime) and runs each notebook with papermill and the platform's `python3` kernel
in a subprocess, on a fresh "runtime":

Colab   /content is emptied before every notebook; Google Drive is a folder outside it that
        a stub `google.colab.drive.mount` (the real call's signature) links in as
        /content/drive/MyDrive. The stub, like the real one, cannot be answered from a kernel
        no browser is attached to (a papermill child kernel, as in a sweep): it raises there
        instead of waiting forever. The repository is cloned from a git copy of the work tree
        with DACON_REPO_URL; the dataset is DACON-style open.zip on Drive.
Kaggle  /kaggle/working and /tmp are emptied before every notebook; the competition data and a
        copy of the repository are read-only inputs; each notebook's output (its
        /kaggle/working) is attached read-only to the later notebooks, as a user adds it with
        "Add Input"; there is no package index (PIP_NO_INDEX) and no network for git.
Root may write anywhere, so read-only is checked as well as asked for: the inputs' files
(names, sizes, modification times) must be unchanged after every notebook.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import yaml

from helpers import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
TINY = NOTEBOOKS / "params" / "tiny"

STUB_DRIVE = '''"""Simulated google.colab.drive (tests/platform_sim.py)."""
import os


def _frontend_attached():
    # a kernel started by another kernel (papermill inside a notebook) has no browser to ask
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        return b"ipykernel" not in f.read()


def mount(mountpoint, force_remount=False, timeout_ms=120000, readonly=False):
    with open(os.environ["SIM_COLAB_LOG"], "a") as log:
        log.write(f"mount {mountpoint} pid {os.getpid()}\\n")
    if not _frontend_attached():
        raise RuntimeError("simulated Colab: drive.mount() in a kernel no browser is attached to would wait "
                           "forever for the user's authorisation")
    target = os.path.join(mountpoint, "MyDrive")
    if os.path.isdir(target) and not force_remount:
        print(f"Drive already mounted at {mountpoint}; to attempt to forcibly remount, call "
              "drive.mount(\\"/content/drive\\", force_remount=True).")
        return
    os.makedirs(mountpoint, exist_ok=True)
    os.symlink(os.environ["SIM_COLAB_DRIVE"], target)
    print(f"Mounted at {mountpoint}")
'''


def source_copy(dest: Path) -> Path:
    """The work tree's files as git sees them (tracked and new, not ignored), copied to dest."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO_ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def git_repo(src: Path) -> str:
    """src as a git repository to clone; its file:// URL (a shallow clone needs one)."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "sim", "GIT_AUTHOR_EMAIL": "sim@example.org",
           "GIT_COMMITTER_NAME": "sim", "GIT_COMMITTER_EMAIL": "sim@example.org"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "work tree"]):
        subprocess.run(cmd, cwd=src, check=True, env=env, capture_output=True)
    return src.as_uri()


def zip_dataset(dataset: Path, archive: Path) -> Path:
    """A dataset as DACON ships it: open.zip holding open/train.csv, open/train_input/, ..."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(dataset.rglob("*")):
            if p.is_file() and not p.name.endswith("_split.csv"):
                zf.write(p, "open/" + str(p.relative_to(dataset)))
    return archive


def snapshot(folder: Path) -> dict:
    """Every file under folder: (size, modification time)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_read_only(folder: Path) -> None:
    for p in [folder, *folder.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode & ~0o222)


def empty(folder: Path) -> None:
    if folder.exists():
        for p in folder.rglob("*"):  # a read-only leftover must not stop the reset
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


class Platform:
    """A simulated platform: `run(notebook, **params)` executes one notebook on a fresh runtime."""

    name = "platform"

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.root = tmp / "root"
        self.outputs = tmp / "executed"  # the executed notebooks, as the user sees them
        self.outputs.mkdir(parents=True)
        self.base_env = {k: v for k, v in os.environ.items()
                         if k not in ("DATA_DIR", "CHECKPOINT_ROOT", "WORK_DIR", "PYTHONPATH", "DACON_ZIP",
                                      "DACON_CACHE_DIR")}
        self.base_env.update(DACON_SIMULATED_ROOT=str(self.root), PYTHONDONTWRITEBYTECODE="1",
                             HF_HUB_OFFLINE="1", MPLBACKEND="module://matplotlib_inline.backend_inline")

    def fresh_runtime(self) -> None:
        raise NotImplementedError

    def env(self) -> dict:
        return dict(self.base_env)

    def cwd(self) -> Path:
        raise NotImplementedError

    def command(self, notebook: str, out: Path, params: dict) -> list[str]:
        tiny = yaml.safe_load((TINY / f"{notebook}.yaml").read_text()) or {}
        cmd = [sys.executable, "-m", "papermill", "--kernel", "python3", "--no-progress-bar",
               str(NOTEBOOKS / f"{notebook}.ipynb"), str(out)]
        for k, v in {**tiny, **params}.items():
            cmd += ["-y", yaml.safe_dump({k: v}, default_flow_style=True).strip()]
        return cmd

    def run(self, notebook: str, tag: str = "", **params) -> Path:
        """Execute `notebook` on a fresh runtime; the executed notebook's path (an error shows its tail)."""
        self.fresh_runtime()
        out = self.outputs / f"{notebook}{tag}.ipynb"
        res = subprocess.run(self.command(notebook, out, params), cwd=self.cwd(), env=self.env(),
                             capture_output=True, text=True, timeout=900)
        self.after(notebook, tag)
        if res.returncode != 0:
            raise AssertionError(f"{self.name}: {notebook} failed:\n{res.stderr[-4000:]}")
        return out

    def run_until(self, notebook: str, appears, tag: str = "", timeout: float = 600, **params) -> Path:
        """Start `notebook` on a fresh runtime and kill it (the runtime dies) once `appears()` is true."""
        self.fresh_runtime()
        out = self.outputs / f"{notebook}{tag}.ipynb"
        proc = subprocess.Popen(self.command(notebook, out, params), cwd=self.cwd(), env=self.env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + timeout
        try:
            while not appears():
                if proc.poll() is not None:
                    raise AssertionError(f"{self.name}: {notebook} ended (exit {proc.returncode}) before the kill")
                if time.time() > deadline:
                    raise AssertionError(f"{self.name}: {notebook}: nothing to kill after {timeout} s")
                time.sleep(0.2)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # papermill, its kernel and the kernel's children
            except ProcessLookupError:
                pass
            proc.wait()
        self.after(notebook, tag)
        return out

    def after(self, notebook: str, tag: str) -> None:
        """What follows a notebook's session (Kaggle: its output becomes attachable)."""


class Colab(Platform):
    name = "simulated Colab"

    def __init__(self, tmp: Path, dataset: Path):
        super().__init__(tmp)
        self.drive = tmp / "google-drive"  # MyDrive: outlives every runtime
        self.log = tmp / "mount.log"
        self.log.touch()
        stubs = tmp / "stubs" / "google" / "colab"
        stubs.mkdir(parents=True)
        # google/ stays a namespace package (no __init__.py), or it would hide google.protobuf
        (stubs / "__init__.py").write_text('"""Simulated google.colab: only drive.mount."""\n')
        (stubs / "drive.py").write_text(STUB_DRIVE)
        self.url = git_repo(source_copy(tmp / "github"))
        zip_dataset(dataset, self.drive / "dacon-photo-restore" / "open.zip")
        self.base_env.update(PYTHONPATH=str(tmp / "stubs"), DACON_REPO_URL=self.url,
                             SIM_COLAB_DRIVE=str(self.drive), SIM_COLAB_LOG=str(self.log))

    def fresh_runtime(self) -> None:
        empty(self.root / "content")  # a new VM: nothing on its disk, Drive not mounted

    def cwd(self) -> Path:
        return self.root / "content"

    def persistent(self) -> Path:
        return self.drive / "dacon-photo-restore"


class Kaggle(Platform):
    name = "simulated Kaggle"

    def __init__(self, tmp: Path, dataset: Path):
        super().__init__(tmp)
        self.input = self.root / "kaggle" / "input"
        self.attachments: list[str] = []
        shutil.copytree(dataset, self.input / "dacon-open", ignore=shutil.ignore_patterns("*_split.csv"))
        source_copy(self.input / "dacon-photo-restore")  # "attach a copy of the repository as a dataset"
        for p in self.input.iterdir():
            make_read_only(p)
        self.inputs = {p.name: snapshot(p) for p in self.input.iterdir()}
        # Internet off: no package index, no clone
        self.base_env.update(KAGGLE_KERNEL_RUN_TYPE="Batch", PIP_NO_INDEX="1",
                             DACON_REPO_URL=(tmp / "no-network").as_uri())

    def fresh_runtime(self) -> None:
        empty(self.root / "kaggle" / "working")
        empty(self.root / "tmp")

    def cwd(self) -> Path:
        return self.root / "kaggle" / "working"

    def persistent(self) -> Path:
        return self.root / "kaggle" / "working"

    def after(self, notebook: str, tag: str) -> None:
        for name, files in self.inputs.items():
            assert snapshot(self.input / name) == files, f"{notebook}{tag} wrote into the read-only input {name}"
        # "Add Input": this notebook's newest output, for the later notebooks (it replaces an older version)
        attached = self.input / f"output-{notebook[:2]}"
        empty(attached)
        attached.rmdir()
        shutil.copytree(self.persistent(), attached, symlinks=True)
        make_read_only(attached)
        self.inputs[attached.name] = snapshot(attached)
