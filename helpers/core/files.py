"""Writing files without ever destroying what the project did not make.

- `atomic_write`: write to a hidden temporary file in the target folder, then rename it
  onto the target, so a reader never sees half a file. The temporary name carries the
  writer's process id (`.<name>.<pid>-<random>.tmp`), so a file left behind by a killed
  writer can be told apart from one still being written.
- `remove_stale_temps`: delete such leftovers whose writer is gone (nothing else).
- `ensure_writable`: prove a folder takes a file before long work starts.
- `check_separate`: refuse input / output folders that are the same or nested;
  `same_folder`: one folder by path or by inode.
- `sigterm_exits`: SIGTERM unwinds like Ctrl-C, so a command's temporary files go too.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path


class FolderError(ValueError):
    """A folder cannot be used as asked (names the folder and the problem)."""


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()
HOST = socket.gethostname()
# .<target name>.<pid>-<mkstemp's random part>.tmp
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)-[A-Za-z0-9_]{6,}\.tmp$")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def atomic_write(path: str | os.PathLike, write, check=None, sync: bool = False) -> Path:
    """Call write(tmp_path) and rename the result onto path, so readers never see half a file.

    check(tmp_path), if given, may raise to refuse the result: the temporary file is then
    removed and whatever was at `path` stays as it was. sync=True flushes the file to its
    storage (fsync) before the rename, and the folder after it: a checkpoint on Google
    Drive is then complete in Drive's file system before its name appears, and a crash
    of the machine right after the save cannot leave an empty file under the name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        if check is not None:
            check(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; give it a new file's usual mode
        if sync:
            _fsync(tmp)
        os.replace(tmp, path)
        if sync:
            _fsync(path.parent, folder=True)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _fsync(path, folder: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        if folder:  # a folder cannot be opened everywhere (Windows): the file itself was synced
            return
        raise
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder
        if not folder:
            raise
    finally:
        os.close(fd)


def remove_stale_temps(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files `atomic_write` left in `folder` when its process was killed.

    Only files named like ours whose writing process no longer runs are removed; a
    user's own `.something.tmp` does not match the pattern and is left alone.
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = TEMP_NAME.match(p.name)
        if m and p.is_file() and not p.is_symlink() and not pid_alive(int(m.group("pid"))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def remove_killed_folders(parent: Path, pattern: str, marker: str) -> None:
    """Delete the temporary folders parent.glob(pattern) whose writer, named by the process id
    in their file `marker`, no longer runs; a folder without a readable marker is not ours
    and is left alone."""
    for p in Path(parent).glob(pattern):
        try:
            pid = int((p / marker).read_text())
        except (OSError, ValueError):
            continue
        if not pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def ensure_writable(folder: str | os.PathLike, what: str = "folder") -> Path:
    """Create `folder` if needed and prove it takes a file; a FolderError naming it if not."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FolderError(f"{folder}: {what} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".write-test.{os.getpid()}-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise FolderError(f"{folder}: {what} is not writable ({e.strerror or e})") from e
    return folder


def same_folder(a: Path, b: Path) -> bool:
    """One folder, by path or, where both exist, by device and inode: a bind mount, or another
    spelling of the path on a case-insensitive file system (macOS, Windows), is caught too."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _inside(a: Path, b: Path) -> bool:
    return same_folder(a, b) or any(same_folder(parent, b) for parent in a.parents)


def check_separate(**folders) -> None:
    """Refuse folders (given as name=path) that resolve to the same place or lie inside one another.

    Paths are resolved, so symbolic links are followed: `out -> in` counts as `in`; existing
    folders are also compared by inode, so a bind mount or a differently cased spelling of
    one folder is the same folder.
    None values are ignored.
    """
    resolved = {name: Path(p).expanduser().resolve() for name, p in folders.items() if p is not None}
    names = list(resolved)
    flag = {name: "--" + name.replace("_", "-") for name in names}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            pa, pb = resolved[a], resolved[b]
            if same_folder(pa, pb):
                raise FolderError(f"{flag[a]} {folders[a]} and {flag[b]} {folders[b]} are the same folder ({pa}); "
                                  "use separate folders so nothing is overwritten")
            if _inside(pa, pb) or _inside(pb, pa):
                inner, outer = (a, b) if _inside(pa, pb) else (b, a)
                raise FolderError(f"{flag[inner]} {folders[inner]} lies inside {flag[outer]} {folders[outer]}; "
                                  "use folders side by side so their files never mix")


@contextmanager
def sigterm_exits():
    """SIGTERM raises SystemExit, so temporary files are removed (and a pool drains) as on Ctrl-C."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
